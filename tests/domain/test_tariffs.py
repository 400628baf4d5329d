"""Worked examples for the tariff engine; every expected number is computed by hand in a comment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from prepay.domain.tariffs import (
    Adjustment,
    DayType,
    PurchaseError,
    Tariff,
    TariffError,
    TariffVersion,
    Unit,
    cycle_bounds,
    day_type,
    multiplier,
    price_interval,
    price_intervals,
    quote_energy,
    quote_money,
    real_energy,
    register_units,
    resolve_assignment,
    select_version,
)

RESIDENTIAL = {  # the demo's 居民阶梯电价, definition as stored
    "cycle": "month",
    "blocks": [
        {"upto": "200", "price": "0.5880"},
        {"upto": "400", "price": "0.6380"},
        {"upto": None, "price": "0.8880"},
    ],
}
WATER = {
    "cycle": "year",
    "blocks": [
        {"upto": "180", "price": "3.4500"},
        {"upto": "260", "price": "4.8300"},
        {"upto": None, "price": "7.9600"},
    ],
}
INDUSTRIAL_TOU = {
    "prices": {"sharp": "1.2500", "peak": "0.9800", "flat": "0.6500", "valley": "0.3200"},
    "schedule": [
        ["00:00", "08:00", "valley"],
        ["08:00", "10:00", "flat"],
        ["10:00", "12:00", "sharp"],
        ["12:00", "17:00", "peak"],
        ["17:00", "22:00", "flat"],
        ["22:00", "24:00", "valley"],
    ],
}


def residential(**extra: object) -> Tariff:
    return Tariff.from_dict({"kind": "tiered", **RESIDENTIAL, **extra})


def flat(price: str = "0.8650", **extra: object) -> Tariff:
    return Tariff.from_dict({"kind": "flat", "price": price, **extra})


class DemoShapesTestCase:
    def test_it_parses_the_demo_definitions_through_from_record(self):
        res = Tariff.from_record(kind="tiered", unit_price="0.5880", definition=RESIDENTIAL)
        com = Tariff.from_record(kind="flat", unit_price=D("0.8650"), definition={})
        ind = Tariff.from_record(kind="tou", unit_price="0.6500", definition=INDUSTRIAL_TOU)
        water = Tariff.from_record(kind="tiered", unit_price="3.4500", definition=WATER, utility="water")
        assert [b.upto for b in res.blocks] == [D(200), D(400), None]
        assert com.price == D("0.8650")
        assert ind.price == D("0.6500") and dict(ind.prices)["sharp"] == D("1.2500")
        assert water.unit is Unit.M3 and water.cycle.value == "year"

    def test_it_parses_the_demo_definitions_alone_inferring_the_kind(self):
        assert Tariff.from_dict(RESIDENTIAL).kind.value == "tiered"
        assert Tariff.from_dict(INDUSTRIAL_TOU).kind.value == "tou"
        # a TOU tariff sells prepaid energy at its flat period's price unless told otherwise
        assert Tariff.from_dict(INDUSTRIAL_TOU).price == D("0.6500")

    def test_it_round_trips_through_to_dict(self):
        for t in (residential(), flat(), Tariff.from_dict(INDUSTRIAL_TOU), Tariff.from_dict(WATER)):
            assert Tariff.from_dict(t.to_dict()) == t


class FlatPurchaseTestCase:
    def test_it_sells_energy_for_money(self):
        # ¥100 at 0.8650: 100 / 0.865 = 115.6069… kWh exactly, but the engine gives the largest
        # 0.001 kWh whose rounded price is still ¥100.00: 115.612 × 0.865 = 100.00438 → 100.00,
        # while 115.613 × 0.865 = 100.005245 → 100.01 (half-up). So 115.612 kWh.
        q = quote_money(flat(), "100")
        assert q.energy == D("115.612")
        assert q.total == q.paid == D("100.00") and q.unspent == D("0.00")
        assert [(ln.key, ln.energy, ln.amount) for ln in q.lines] == [("flat", D("115.612"), D("100.00"))]

    def test_it_prices_energy(self):
        # 100 kWh × 0.8650 = 86.50
        q = quote_energy(flat(), "100")
        assert q.total == D("86.50") and q.energy == D("100.000")

    def test_it_sells_whole_token_units_when_asked(self):
        # step 0.1: ¥100 / 0.865 = 115.6069 → 115.6 kWh costs 99.994 → 99.99; 0.01 left unspent
        q = quote_money(flat(), "100", step="0.1")
        assert q.energy == D("115.600") and q.total == D("99.99") and q.unspent == D("0.01")


class TieredPurchaseTestCase:
    def test_it_crosses_a_tier_boundary_inside_one_purchase(self):
        # used 180 of the 200 kWh first block; pay ¥50:
        #   tier 1: 20 kWh × 0.588 = 11.76, leaving 38.24
        #   tier 2: 38.24 / 0.638 = 59.9373 kWh exactly; the largest 0.001 with
        #           round(11.76 + e × 0.638) ≤ 50.00 is e = 59.945 (38.24491 → total 50.00491 → 50.00)
        q = quote_money(residential(), "50", used_in_cycle="180")
        assert [(ln.key, ln.energy, ln.price, ln.amount) for ln in q.lines] == [
            ("tier:1", D("20.000"), D("0.5880"), D("11.76")),
            ("tier:2", D("59.945"), D("0.6380"), D("38.24")),
        ]
        assert q.energy == D("79.945") and q.total == D("50.00")
        assert q.used_in_cycle_after == D("259.945")

    def test_it_prices_energy_across_two_boundaries(self):
        # used 190, buy 220 kWh: 10 × 0.588 = 5.88; 200 × 0.638 = 127.60; 10 × 0.888 = 8.88 → 142.36
        q = quote_energy(residential(), "220", used_in_cycle="190")
        assert [ln.amount for ln in q.lines] == [D("5.88"), D("127.60"), D("8.88")]
        assert q.total == D("142.36") and q.used_in_cycle_after == D("410.000")

    def test_it_starts_in_the_top_block_when_the_cycle_is_past_it(self):
        # used 500: 10 kWh × 0.888 = 8.88
        q = quote_energy(residential(), "10", used_in_cycle="500")
        assert [(ln.key, ln.amount) for ln in q.lines] == [("tier:3", D("8.88"))]

    def test_it_prices_water_in_yearly_cubic_metre_tiers(self):
        # used 170 m³ this year, buy 20 m³: 10 × 3.45 = 34.50 + 10 × 4.83 = 48.30 → 82.80
        q = quote_energy(Tariff.from_dict({**WATER, "unit": "m³"}), "20", used_in_cycle="170")
        assert q.unit is Unit.M3
        assert [ln.amount for ln in q.lines] == [D("34.50"), D("48.30")] and q.total == D("82.80")
        # and ¥82.80 buys those 20 m³ back (20.001 would cost 82.80483 → 82.80 too, 20.002 → 82.81)
        assert quote_money(Tariff.from_dict(WATER), "82.80", used_in_cycle="170").energy == D("20.001")


class VatTestCase:
    def test_it_adds_vat_once_on_the_total(self):
        # net price 0.5880, VAT 13% added, 123 kWh: exact net 72.324 → net 72.32;
        # total = round(72.324 × 1.13 = 81.72612) = 81.73; VAT = 81.73 − 72.32 = 9.41
        # (not round(72.32 × 0.13) = 9.40: the total is rounded once, VAT is the difference)
        q = quote_energy(flat("0.5880", vat_rate="0.13", vat_included=False), "123")
        assert (q.net_amount, q.vat_amount, q.total) == (D("72.32"), D("9.41"), D("81.73"))

    def test_it_extracts_included_vat(self):
        # gross price 0.5880 incl. 13%: 100 kWh = 58.80; net = round(58.80 / 1.13 = 52.0354) = 52.04
        q = quote_energy(flat("0.5880", vat_rate="0.13", vat_included=True), "100")
        assert (q.total, q.net_amount, q.vat_amount) == (D("58.80"), D("52.04"), D("6.76"))

    def test_it_sells_for_money_with_vat_added(self):
        # ¥100 at 0.5000 net + 13%: the gross price is 0.565/kWh; 177.000 kWh would cost exactly
        # 100.005 → 100.01 (half-up), so 176.999 (100.004435 → 100.00); net 88.4995 → 88.50, VAT 11.50
        q = quote_money(flat("0.5000", vat_rate="0.13", vat_included=False), "100")
        assert q.energy == D("176.999")
        assert (q.net_amount, q.vat_amount, q.total) == (D("88.50"), D("11.50"), D("100.00"))


class FixedChargeTestCase:
    def test_it_deducts_a_per_purchase_charge_before_energy(self):
        # ¥50 − ¥2 service = 48 at 0.5000 → 96 kWh (96.009 → 48.0045 → 48.00; 96.010 → 48.005 → 48.01)
        t = flat("0.5000", fixed_charges=[{"name": "service", "amount": "2.00", "per": "purchase"}])
        q = quote_money(t, "50")
        assert q.energy == D("96.009") and q.fixed_amount == D("2.00") and q.total == D("50.00")

    def test_it_adds_a_cycle_charge_only_when_due(self):
        t = flat("0.5000", fixed_charges=[{"name": "meter rent", "amount": "5.00", "per": "cycle"}])
        assert quote_energy(t, "10").total == D("5.00")  # 10 × 0.5
        assert quote_energy(t, "10", charge_cycle_fees=True).total == D("10.00")  # + 5.00 rent

    def test_it_refuses_money_that_does_not_cover_the_charges(self):
        t = flat("0.5000", fixed_charges=[{"name": "service", "amount": "2.00", "per": "purchase"}])
        with pytest.raises(PurchaseError) as err:
            quote_money(t, "1.50")
        assert err.value.code == "fixed_charges_not_covered"


class LimitsTestCase:
    def test_it_refuses_purchases_outside_the_limits(self):
        t = flat("0.5000", min_purchase="10", max_purchase="5000")
        with pytest.raises(PurchaseError) as low:
            quote_money(t, "9.99")
        with pytest.raises(PurchaseError) as high:
            quote_money(t, "5000.01")
        with pytest.raises(PurchaseError) as small_energy:
            quote_energy(t, "1")  # ¥0.50
        assert (low.value.code, high.value.code, small_energy.value.code) == (
            "below_minimum",
            "above_maximum",
            "below_minimum",
        )
        assert quote_money(t, "10").energy == D("20.009")  # 10.0045 → 10.00

    def test_it_refuses_bad_amounts(self):
        t = flat()
        for bad, code in (("0", "not_positive"), ("-5", "not_positive"), ("1.005", "too_many_places")):
            with pytest.raises(PurchaseError) as err:
                quote_money(t, bad)
            assert err.value.code == code
        with pytest.raises(PurchaseError) as err:
            quote_money(t, 10.5)
        assert err.value.code == "not_a_number"
        with pytest.raises(PurchaseError) as err:
            quote_energy(t, "1.0001")
        assert err.value.code == "too_many_places"

    def test_it_refuses_a_payment_too_small_for_any_energy(self):
        with pytest.raises(PurchaseError) as err:
            quote_money(flat("50"), "0.01")  # ¥0.01 at ¥50/kWh: 0.0002 kWh, below one step
        assert err.value.code == "too_small_for_any_energy"


class QuotaTestCase:
    def test_it_sells_the_quota_first_and_outside_the_tiers(self):
        # 50 kWh quota at 0.40, 30 already used; tiers at 190 kWh; buy 40 kWh:
        #   quota 20 × 0.40 = 8.00; tier 1 10 × 0.588 = 5.88; tier 2 10 × 0.638 = 6.38 → 20.26
        t = residential(quota={"energy": "50", "price": "0.4000", "label": "平价电量"})
        q = quote_energy(t, "40", used_in_cycle="190", quota_used="30")
        assert [(ln.key, ln.label, ln.energy, ln.amount) for ln in q.lines] == [
            ("quota", "平价电量", D("20.000"), D("8.00")),
            ("tier:1", "tier 1", D("10.000"), D("5.88")),
            ("tier:2", "tier 2", D("10.000"), D("6.38")),
        ]
        assert q.total == D("20.26")
        # quota energy does not advance the tier position
        assert (q.used_in_cycle_after, q.quota_used_after) == (D("210.000"), D("50.000"))

    def test_it_skips_an_exhausted_quota(self):
        t = residential(quota={"energy": "50", "price": "0.4000"})
        q = quote_energy(t, "10", quota_used="50")
        assert [ln.key for ln in q.lines] == ["tier:1"] and q.total == D("5.88")


class RoundingModeTestCase:
    def test_it_uses_the_configured_money_rounding(self):
        # 1 kWh × 0.5250 = 0.525: half-up 0.53, half-even 0.52, down 0.52
        for mode, expected in (("ROUND_HALF_UP", "0.53"), ("half_even", "0.52"), ("ROUND_DOWN", "0.52")):
            t = flat("0.5250", rounding={"money": mode})
            assert quote_energy(t, "1").total == D(expected)

    def test_it_makes_lines_add_up_to_the_rounded_total(self):
        # three lines each exactly half a fen would add up to 0.03 if rounded one by one (0.01 × 3);
        # running totals keep the sum at round(0.015) = 0.02
        t = Tariff.from_dict(
            {
                "kind": "tiered",
                "cycle": "month",
                "blocks": [
                    {"upto": "1", "price": "0.005"},
                    {"upto": "2", "price": "0.005"},
                    {"upto": None, "price": "0.005"},
                ],
            }
        )
        # three lines of 1 kWh × 0.005 = 0.005 each; exact total 0.015 → 0.02; lines 0.01, 0.00, 0.01
        q = quote_energy(t, "3")
        assert [ln.amount for ln in q.lines] == [D("0.01"), D("0.00"), D("0.01")]
        assert q.total == D("0.02")


class MultiplierTestCase:
    def test_it_converts_purchased_energy_to_register_units_at_ct_50(self):
        # 100 / 50 = 2.0 units; 101 / 50 = 2.02 → rounded up to 2.1 (105 kWh, the customer's favour)
        assert register_units("100", 50) == D("2.0")
        assert register_units("101", 50) == D("2.1")
        assert real_energy("2.1", 50) == D("105.0")

    def test_it_multiplies_ct_and_pt(self):
        # CT 50 × PT 100 = 5000; 12345 kWh / 5000 = 2.469 → 2.5 units
        assert multiplier(50, 100) == 5000
        assert register_units("12345", "50", "100") == D("2.5")
        assert register_units("115.612") == D("115.7")  # no CT: 0.1 resolution, up

    def test_it_refuses_bad_ratios(self):
        for bad in (0, -5, "2.5", 1.5, True, "x"):
            with pytest.raises(TariffError):
                multiplier(bad)
        with pytest.raises(TariffError):
            register_units("-1", 50)

    def test_it_converts_a_purchase_quoted_in_money(self):
        # factory on the flat tariff behind CT 50 pays ¥1000: 1000 / 0.865 → 1156.069 kWh
        # (1156.069 × 0.865 = 999.99969 → 1000.00; 1156.070 → 1000.00055 → 1000.00; 1156.075 →
        # 1000.004875 → 1000.00; 1156.076 → 1000.00574 → 1000.01): 1156.075 kWh → 23.1215 → 23.2 units
        q = quote_money(flat(), "1000")
        assert q.energy == D("1156.075")
        assert register_units(q.energy, 50) == D("23.2")


class AdjustmentTestCase:
    def test_it_carries_signed_energy_with_a_reason(self):
        add = Adjustment(D("12.5"), " meter replaced ")
        remove = Adjustment(D("-101"), "wrong vend", counts_towards_tiers=True)
        assert add.reason == "meter replaced" and add.cycle_position_after("150") == D("150")
        assert remove.cycle_position_after("150") == D("49")
        assert remove.cycle_position_after("50") == D("0")
        # −101 / 50 = −2.02 → −2.0 (rounded towards +∞: less removed, the customer's favour)
        assert remove.register_units(50) == D("-2.0") and add.register_units(50) == D("0.3")

    def test_it_refuses_empty_adjustments(self):
        for energy, reason in ((D(0), "x"), (D("1"), " "), (D("1.0001"), "x"), (1.5, "x")):
            with pytest.raises(TariffError):
                Adjustment(energy, reason)  # type: ignore[arg-type]


class TimeOfUseDayTestCase:
    def test_it_prices_a_day_of_hourly_consumption(self):
        # hours 0–7 2 kWh (valley 16), 8–9 5 (flat 10), 10–11 8 (sharp 16), 12–16 6 (peak 30),
        # 17–21 5 (flat 25), 22–23 3 (valley 6):
        #   sharp 16 × 1.25 = 20.00; peak 30 × 0.98 = 29.40; flat 35 × 0.65 = 22.75; valley 22 × 0.32 = 7.04
        #   total 79.19 for 103 kWh
        profile = [2] * 8 + [5] * 2 + [8] * 2 + [6] * 5 + [5] * 5 + [3] * 2
        day = datetime(2025, 3, 4)  # a Tuesday
        hours = [
            (day + timedelta(hours=h), day + timedelta(hours=h + 1), str(kwh))
            for h, kwh in enumerate(profile)
        ]
        q = price_intervals(Tariff.from_dict(INDUSTRIAL_TOU), hours)
        assert [(ln.label, ln.energy, ln.amount) for ln in q.lines] == [
            ("sharp", D("16.000"), D("20.00")),
            ("peak", D("30.000"), D("29.40")),
            ("flat", D("35.000"), D("22.75")),
            ("valley", D("22.000"), D("7.04")),
        ]
        assert q.energy == D("103.000") and q.total == D("79.19")
        assert q.used_in_cycle_after == D("103.000")

    def test_it_splits_an_interval_across_a_period_boundary_by_time(self):
        # 07:00–08:30, 1 kWh: valley 60/90 = 0.6667 → 0.667; flat the rest 0.333
        # 0.667 × 0.32 = 0.21344, + 0.333 × 0.65 = 0.21645 → 0.42989 → 0.43 (lines 0.21, 0.22)
        q = price_interval(
            Tariff.from_dict(INDUSTRIAL_TOU), "1", datetime(2025, 3, 4, 7), datetime(2025, 3, 4, 8, 30)
        )
        assert [(ln.label, ln.energy, ln.amount) for ln in q.lines] == [
            ("flat", D("0.333"), D("0.22")),
            ("valley", D("0.667"), D("0.21")),
        ]
        assert q.total == D("0.43")

    def test_it_handles_aware_times_and_refuses_backwards_intervals(self):
        cst = timezone(timedelta(hours=8))
        t = Tariff.from_dict(INDUSTRIAL_TOU)
        # 02:00–04:00 UTC = 10:00–12:00 in China: sharp
        q = price_interval(t, "2", datetime(2025, 3, 4, 10, tzinfo=cst), datetime(2025, 3, 4, 4, tzinfo=UTC))
        assert [ln.label for ln in q.lines] == ["sharp"]
        with pytest.raises(TariffError):
            price_interval(t, "1", datetime(2025, 3, 4, 10), datetime(2025, 3, 4, 9))
        with pytest.raises(TariffError):
            price_interval(t, "1", datetime(2025, 3, 4, 10, tzinfo=cst), datetime(2025, 3, 4, 11))
        with pytest.raises(TariffError):
            price_interval(t, "-1", datetime(2025, 3, 4, 10), datetime(2025, 3, 4, 11))


SEASONAL = {
    "kind": "tou",
    "prices": {"sharp": "1.2500", "peak": "0.9800", "flat": "0.6500", "valley": "0.3200"},
    "schedules": {
        "workday": [["22:00", "08:00", "valley"], ["08:00", "12:00", "peak"], ["12:00", "22:00", "flat"]],
        "weekend": [["00:00", "08:00", "valley"], ["08:00", "24:00", "flat"]],
    },
    "seasons": [
        {
            "name": "summer",
            "from": "06-01",
            "to": "09-30",
            "prices": {"sharp": "1.4000"},
            "schedule": [
                ["00:00", "08:00", "valley"],
                ["08:00", "11:00", "peak"],
                ["11:00", "12:00", "sharp"],
                ["12:00", "17:00", "peak"],
                ["17:00", "24:00", "flat"],
            ],
        }
    ],
}


class SeasonsAndDayTypesTestCase:
    def test_it_picks_the_period_by_season_and_day_type(self):
        t = Tariff.from_dict(SEASONAL)

        def one_hour(day: date, hour: int, **kw: object) -> tuple[str, D]:
            start = datetime.combine(day, datetime.min.time()) + timedelta(hours=hour)
            (line,) = price_interval(t, "1", start, start + timedelta(hours=1), **kw).lines  # type: ignore[arg-type]
            return line.label, line.price

        assert one_hour(date(2025, 7, 2), 11) == ("sharp", D("1.4000"))  # summer workday, summer price
        assert one_hour(date(2025, 7, 5), 11) == ("sharp", D("1.4000"))  # summer Saturday: one schedule
        assert one_hour(date(2025, 3, 4), 10) == ("peak", D("0.9800"))  # Tuesday outside summer
        assert one_hour(date(2025, 3, 8), 10) == ("flat", D("0.6500"))  # Saturday
        holiday = date(2025, 10, 1)  # a Wednesday; holidays fall back to the weekend schedule
        assert one_hour(holiday, 10, holidays={holiday}) == ("flat", D("0.6500"))
        makeup = date(2025, 10, 11)  # a Saturday worked in exchange (调休)
        assert one_hour(makeup, 10, workdays={makeup}) == ("peak", D("0.9800"))
        assert one_hour(date(2025, 3, 4), 23) == ("valley", D("0.3200"))  # 22:00–08:00 wraps

    def test_it_splits_across_midnight_into_a_new_season(self):
        # 2025-05-31 (Saturday, weekend schedule) 23:00 → 2025-06-01 (Sunday, summer) 09:00, 10 kWh,
        # 1 kWh per hour: 23–24 weekend flat 1 × 0.65 = 0.65; 00–08 summer valley 8 × 0.32 = 2.56;
        # 08–09 summer peak 1 × 0.98 = 0.98 → total 4.19
        t = Tariff.from_dict(SEASONAL)
        q = price_interval(t, "10", datetime(2025, 5, 31, 23), datetime(2025, 6, 1, 9))
        assert [(ln.label, ln.energy, ln.amount) for ln in q.lines] == [
            ("peak", D("1.000"), D("0.98")),
            ("flat", D("1.000"), D("0.65")),
            ("valley", D("8.000"), D("2.56")),
        ]
        assert q.total == D("4.19")

    def test_it_names_day_types(self):
        assert day_type(date(2025, 3, 4)) is DayType.WORKDAY
        assert day_type(date(2025, 3, 8)) is DayType.WEEKEND
        assert day_type(date(2025, 3, 8), holidays={date(2025, 3, 8)}) is DayType.HOLIDAY


class IntervalTieredTestCase:
    def test_it_prices_intervals_by_cumulative_energy(self):
        # remote fee control: 195 kWh billed this month, two daily readings of 10 and 200 kWh:
        #   5 × 0.588 = 2.94; 200 × 0.638 = 127.60; 5 × 0.888 = 4.44 → 134.98
        d = datetime(2025, 3, 4)
        q = price_intervals(
            residential(),
            [(d, d + timedelta(days=1), "10"), (d + timedelta(days=1), d + timedelta(days=2), "200")],
            used_in_cycle="195",
        )
        assert [ln.amount for ln in q.lines] == [D("2.94"), D("127.60"), D("4.44")]
        assert q.total == D("134.98") and q.used_in_cycle_after == D("405.000")


class VersionsTestCase:
    def test_it_selects_the_version_in_force(self):
        old = TariffVersion("res", date(2024, 1, 1), residential())
        new = TariffVersion("res", date(2025, 7, 1), flat())
        assert select_version([new, old], date(2025, 6, 30)) is old
        assert select_version([new, old], date(2025, 7, 1)) is new
        with pytest.raises(TariffError, match="no tariff version"):
            select_version([new, old], date(2023, 12, 31))
        with pytest.raises(TariffError, match="2 versions"):
            select_version([old, TariffVersion("res", date(2024, 1, 1), flat())], date(2024, 5, 1))

    def test_it_resolves_account_then_site_then_group(self):
        assert resolve_assignment(account=None, site_default="site", group_default="group") == "site"
        assert resolve_assignment(account="acct", site_default="site", group_default="group") == "acct"
        assert resolve_assignment(group_default="group") == "group"
        with pytest.raises(TariffError):
            resolve_assignment()

    def test_it_finds_cycle_bounds(self):
        assert cycle_bounds("month", date(2025, 12, 15)) == (date(2025, 12, 1), date(2026, 1, 1))
        assert cycle_bounds("year", date(2025, 2, 28)) == (date(2025, 1, 1), date(2026, 1, 1))
