"""Sample bills for the tariff editor's preview (pure): typical purchases and time-of-use days."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from prepay.domain.tariffs import Tariff, sample_days, sample_purchases

TIERED = {
    "kind": "tiered",
    "cycle": "month",
    "blocks": [
        {"upto": "200", "price": "0.5880"},
        {"upto": "400", "price": "0.6380"},
        {"upto": None, "price": "0.8880"},
    ],
}
DAY = [
    ["00:00", "08:00", "valley"],
    ["08:00", "10:00", "flat"],
    ["10:00", "12:00", "sharp"],
    ["12:00", "17:00", "peak"],
    ["17:00", "22:00", "flat"],
    ["22:00", "24:00", "valley"],
]
PRICES = {"sharp": "1.2500", "peak": "0.9800", "flat": "0.6500", "valley": "0.3200"}
FRIDAY = date(2026, 6, 12)


def totals(bills: list[Any]) -> list[tuple[str, str]]:
    return [(str(b.energy), str(b.quote.total)) for b in bills]


class SamplePurchasesTestCase:
    def test_it_prices_a_typical_month_across_the_tiers(self):
        bills = sample_purchases(Tariff.from_dict(TIERED))
        assert totals(bills) == [("100.000", "58.80"), ("200.000", "117.60"), ("400.000", "245.20")]
        assert [line.key for line in bills[2].quote.lines] == ["tier:1", "tier:2"]
        assert bills[2].average_price == Decimal("0.6130")

    def test_it_adds_the_cycle_charges_and_vat(self):
        t = Tariff.from_dict(
            {
                "kind": "flat",
                "price": "0.8650",
                "vat_rate": "0.13",
                "vat_included": False,
                "fixed_charges": [{"name": "meter rent", "amount": "5.00", "per": "cycle"}],
            }
        )
        bill = sample_purchases(t, (Decimal(100),))[0]
        # (86.50 + 5.00) × 1.13 = 103.395 → 103.40
        assert (bill.quote.net_amount, bill.quote.vat_amount, bill.quote.total) == (
            Decimal("91.50"),
            Decimal("11.90"),
            Decimal("103.40"),
        )

    def test_it_prices_water_by_the_year_in_cubic_metres(self):
        t = Tariff.from_dict({**TIERED, "unit": "m3", "cycle": "year"})
        assert [b.energy for b in sample_purchases(t)] == [Decimal(120), Decimal(240), Decimal(360)]

    def test_it_flags_a_bill_a_sale_would_refuse_but_still_prices_it(self):
        t = Tariff.from_dict({**TIERED, "min_purchase": "60.00", "max_purchase": "200.00"})
        bills = sample_purchases(t)
        assert [b.limit for b in bills] == ["below_minimum", "", "above_maximum"]
        assert bills[2].quote.total == Decimal("245.20")

    @given(
        st.lists(st.integers(1, 5000), min_size=2, max_size=4, unique=True),
        st.decimals("0.0001", "5", places=4),
    )
    def test_it_never_bills_more_energy_for_less(self, energies: list[int], step: Decimal):
        t = Tariff.from_dict(
            {
                "kind": "tiered",
                "cycle": "month",
                "blocks": [{"upto": "150", "price": str(step)}, {"upto": None, "price": str(step * 2)}],
            }
        )
        bills = sample_purchases(t, tuple(Decimal(e) for e in sorted(energies)))
        assert [b.quote.total for b in bills] == sorted(b.quote.total for b in bills)


class SampleDaysTestCase:
    def test_it_bills_an_even_day_by_period(self):
        t = Tariff.from_dict({"kind": "tou", "prices": PRICES, "schedule": DAY})
        [day] = sample_days(t, FRIDAY)
        by_period = {line.key: (line.energy, line.amount) for line in day.quote.lines}
        assert by_period == {
            "period:sharp": (Decimal("2.000"), Decimal("2.50")),
            "period:peak": (Decimal("5.000"), Decimal("4.90")),
            "period:flat": (Decimal("7.000"), Decimal("4.55")),
            "period:valley": (Decimal("10.000"), Decimal("3.20")),
        }
        assert (day.key, day.day, day.quote.total) == ("day:workday", FRIDAY, Decimal("15.15"))

    def test_it_bills_each_day_type_with_its_own_schedule(self):
        weekend = [["00:00", "24:00", "valley"]]
        holiday = [["00:00", "24:00", "flat"]]
        t = Tariff.from_dict(
            {
                "kind": "tou",
                "prices": PRICES,
                "schedules": {"workday": DAY, "weekend": weekend, "holiday": holiday},
            }
        )
        bills = sample_days(t, FRIDAY)
        assert [(b.key, b.day, b.quote.total) for b in bills] == [
            ("day:workday", FRIDAY, Decimal("15.15")),
            ("day:weekend", date(2026, 6, 13), Decimal("7.68")),
            ("day:holiday", FRIDAY, Decimal("15.60")),
        ]

    def test_it_has_no_sample_day_for_a_tariff_without_periods(self):
        assert sample_days(Tariff.from_dict(TIERED), FRIDAY) == []
