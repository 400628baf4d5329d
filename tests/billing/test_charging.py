"""Charging remote-control accounts from readings: worked examples and idempotent re-runs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from prepay.billing import actions
from prepay.billing.models import Charge
from prepay.meters.actions import do_replace_meter
from prepay.tariffs.models import CalendarDay, DayKind
from prepay.vending import ledger
from prepay.vending.models import LedgerEntry
from tests import factories as f
from tests.billing.conftest import at, hours, meter_of, read, remote_account, tariff
from tests.helpers import refused

TOU = {
    "prices": {"sharp": "1.2000", "peak": "1.0000", "flat": "0.6000", "valley": "0.3000"},
    "schedule": [
        ["00:00", "08:00", "valley"],
        ["08:00", "10:00", "peak"],
        ["10:00", "12:00", "sharp"],
        ["12:00", "18:00", "flat"],
        ["18:00", "22:00", "peak"],
        ["22:00", "24:00", "valley"],
    ],
}
TIERS = {
    "cycle": "month",
    "blocks": [
        {"upto": "200", "price": "0.5000"},
        {"upto": "400", "price": "0.6000"},
        {"upto": None, "price": "0.9000"},
    ],
}


def charge(acc: Any, until: Any = None) -> list[Charge]:
    with transaction.atomic():
        return actions.charge_and_evaluate(acc, until=until)


def ledger_rows() -> list[tuple[Any, ...]]:
    return list(
        LedgerEntry.objects.order_by("pk").values_list("account_id", "seq", "amount", "balance_after")
    )


class ChargingTestCase:
    def test_it_prices_a_tou_day_with_four_periods(self, world: Any) -> None:
        w = world.a1
        t = tariff(w, "tou", "tou", TOU, price="0.6000")
        acc = remote_account(w, tariff=t, start=at(2026, 3, 2))
        m = meter_of(acc)
        for i, when in enumerate(hours(at(2026, 3, 2), 25)):
            read(m, when, str(i))  # 1 kWh every hour for a whole day
        [c] = charge(acc, until=at(2026, 3, 3, 1))
        by_period = {ln["key"]: Decimal(ln["energy"]) for ln in c.lines}
        assert by_period == {
            "period:valley": Decimal("10"),
            "period:peak": Decimal("6"),
            "period:sharp": Decimal("2"),
            "period:flat": Decimal("6"),
        }
        # 10 × 0.3 + 6 × 1.0 + 2 × 1.2 + 6 × 0.6 = 15.00
        assert c.amount == Decimal("15.00") and c.energy == Decimal("24")
        assert ledger.balance_of(acc) == Decimal("-15.00")

    def test_it_crosses_a_tier_mid_month(self, world: Any) -> None:
        w = world.a1
        t = tariff(w, "tiers", "tiered", TIERS)
        acc = remote_account(w, tariff=t)
        m = meter_of(acc)
        read(m, at(2026, 3, 10), "150")
        [first] = charge(acc)
        read(m, at(2026, 3, 20), "250")
        [second] = charge(acc)
        assert first.amount == Decimal("75.00")  # 150 × 0.5
        assert [(ln["key"], ln["energy"]) for ln in second.lines] == [
            ("tier:1", "50.000"),
            ("tier:2", "50.000"),
        ]
        assert second.amount == Decimal("55.00")  # 50 × 0.5 + 50 × 0.6
        read(m, at(2026, 4, 5), "350")  # the new month starts again at tier 1
        pieces = charge(acc)
        assert [p.cycle_start.isoformat() for p in pieces] == ["2026-03-01", "2026-04-01"]
        assert sum(p.energy for p in pieces) == Decimal("100")
        assert all(ln["key"] in {"tier:2", "tier:1"} for p in pieces for ln in p.lines)
        assert pieces[1].lines[0]["key"] == "tier:1"

    def test_it_multiplies_by_a_ct_ratio_of_80(self, world: Any) -> None:
        w = world.a1
        m = f.meter(w, w.three, ct_ratio=80)
        acc = remote_account(w, meter=m, opening="10")
        read(m, at(2026, 3, 2), "12.5")
        [c] = charge(acc)
        assert c.energy == Decimal("200")  # 2.5 register units × 80
        assert c.amount == Decimal("117.60")  # 200 × 0.588

    def test_it_handles_a_register_rollover(self, world: Any) -> None:
        w = world.a1
        acc = remote_account(w, opening="999990")
        m = meter_of(acc)
        read(m, at(2026, 3, 2), "999999")
        read(m, at(2026, 3, 3), "11")
        [c] = charge(acc)
        assert c.energy == Decimal("21")
        assert "rollover" in c.flags

    def test_it_never_credits_a_meter_running_backwards(self, world: Any) -> None:
        w = world.a1
        acc = remote_account(w, opening="100")
        m = meter_of(acc)
        read(m, at(2026, 3, 2), "110")
        read(m, at(2026, 3, 3), "105")
        read(m, at(2026, 3, 4), "112")
        [c] = charge(acc)
        assert c.energy == Decimal("12") and "backwards" in c.flags
        assert c.to_register == Decimal("112")

    @pytest.mark.parametrize("today", [at(2026, 3, 20, 9), at(2026, 12, 4, 11), at(2028, 2, 29, 23, 50)])
    def test_it_charges_across_a_meter_replacement(self, world: Any, clock: Any, today: Any) -> None:
        clock.move_to(today)  # the replacement happens "now": the old meter's stretch is cut at
        w = world.a1  # every month start since March, so the number of pieces follows the date
        acc = remote_account(w, opening="100")
        old = meter_of(acc)
        read(old, at(2026, 3, 2), "110")
        new = f.meter(w)
        clerk = world.clerk
        do_replace_meter(
            account=acc,
            new_meter=new,
            old_closing_reading=Decimal("115"),
            remaining_credit=Decimal("0"),
            new_opening_reading=Decimal("5"),
            actor=clerk,
        )
        later = timezone.now() + timedelta(hours=1)
        read(new, later, "12")
        charges = charge(acc, until=later)
        by_meter: dict[int, Decimal] = {}
        for c in charges:
            by_meter[c.meter_id] = by_meter.get(c.meter_id, Decimal(0)) + c.energy
        assert by_meter == {old.pk: Decimal("15"), new.pk: Decimal("7")}  # old: 100 → 115, new: 5 → 12
        assert ledger.balance_of(acc) == Decimal("-12.94")  # 15 × 0.588 = 8.82, 7 × 0.588 = 4.116
        assert sum(c.amount for c in charges) == Decimal("12.94")

    def test_it_costs_the_same_in_one_piece_or_six(self, world: Any) -> None:
        w = world.a1
        one, six = remote_account(w, opening="0"), remote_account(w, opening="0")
        read(meter_of(one), at(2026, 3, 31), "22.098")
        read(meter_of(six), at(2026, 8, 20), "22.098")  # cut at five month starts: April … August
        [single] = charge(one, until=at(2026, 3, 31))
        pieces = charge(six, until=at(2026, 8, 20))
        assert len(pieces) == 6
        # each piece rounded alone would give 13.00 here; the whole is 22.098 × 0.588 = 12.993624
        assert single.amount == Decimal("12.99") == sum(p.amount for p in pieces)
        assert ledger.balance_of(one) == ledger.balance_of(six) == Decimal("-12.99")
        for p in pieces:  # every piece within one fen of its own exact price
            assert abs(p.amount - p.energy * Decimal("0.588")) < Decimal("0.01")
        assert all(p.energy > 0 and p.amount >= 0 for p in pieces)

    def test_it_bills_small_readings_polled_often(self, world: Any) -> None:
        """96 readings a day of 0.008 kWh each (0.0047 yuan): rounded one by one, none would ever be
        billed; the carry bills the day's 0.768 kWh as round(0.451584) = 0.45 in all."""
        w = world.a1
        acc = remote_account(w, opening="0", start=at(2026, 3, 2))
        m = meter_of(acc)
        start = at(2026, 3, 2)
        for i in range(1, 97):
            when = start + timedelta(minutes=15 * i)
            read(m, when, str(Decimal("0.008") * i))
            charge(acc, until=when)
        charges = Charge.objects.filter(account=acc)
        assert charges.count() == 96
        assert ledger.balance_of(acc) == Decimal("-0.45")
        assert abs(charges.order_by("-period_end").first().carry) < Decimal("0.01")

    def test_it_changes_nothing_when_run_again(self, world: Any) -> None:
        w = world.a1
        t = tariff(w, "tou", "tou", TOU, price="0.6000")
        acc = remote_account(w, tariff=t)
        m = meter_of(acc)
        for i, when in enumerate(hours(at(2026, 3, 2), 10)):
            read(m, when, str(i * 2))
        charge(acc)
        before = (ledger_rows(), Charge.objects.count())
        assert charge(acc) == []
        assert charge(acc, until=at(2026, 3, 2, 5)) == []
        assert (ledger_rows(), Charge.objects.count()) == before

    def test_it_charges_only_remote_open_accounts(self, world: Any) -> None:
        w = world.a1
        acc = f.account(w, meter_=f.meter(w))  # local fee control
        read(meter_of(acc), at(2026, 3, 2), "200")
        assert charge(acc) == []
        assert LedgerEntry.objects.count() == 0


class DoChargeAccountTestCase:
    def test_it_charges_and_audits(self, world: Any) -> None:
        acc = remote_account(world.a1)
        read(meter_of(acc), at(2026, 3, 2), "10")
        charges = actions.do_charge_account(account=acc, actor=world.admin)
        assert [c.amount for c in charges] == [Decimal("5.88")]

    def test_it_refuses_a_local_account(self, world: Any) -> None:
        acc = f.account(world.a1, meter_=f.meter(world.a1))
        refused("local_control", actions.do_charge_account, account=acc, actor=world.admin)

    def test_it_refuses_a_closed_account(self, world: Any) -> None:
        acc = remote_account(world.a1)
        acc.status = "closed"
        acc.save()
        refused("closed", actions.do_charge_account, account=acc, actor=world.admin)

    def test_it_refuses_the_wrong_role(self, world: Any) -> None:
        acc = remote_account(world.a1)
        refused("forbidden", actions.do_charge_account, account=acc, actor=world.cashier)

    def test_it_refuses_an_outsider(self, world: Any) -> None:
        acc = remote_account(world.a1)
        refused("forbidden", actions.do_charge_account, account=acc, actor=world.clerk_b)


HOLIDAY_TOU = {
    "prices": TOU["prices"],
    "schedules": {"workday": TOU["schedule"], "weekend": [["00:00", "24:00", "valley"]]},
}


class HolidayCalendarTestCase:
    """Billing prices a time-of-use day by the group's calendar: 节假日 and 调休."""

    def day_charge(self, world: Any, day: Any) -> Decimal:
        w = world.a1
        t = tariff(w, "tou", "tou", HOLIDAY_TOU, price="0.6000")
        acc = remote_account(w, tariff=t, start=day)
        m = meter_of(acc)
        for i, when in enumerate(hours(day, 25)):
            read(m, when, str(i))  # 1 kWh every hour for the whole day
        [c] = charge(acc, until=day + timedelta(hours=25))
        return c.amount

    def test_a_holiday_on_a_weekday_is_priced_with_the_holiday_schedule(self, world: Any) -> None:
        day = at(2026, 10, 1)  # a Thursday: the workday schedule, 15.00 for the day
        CalendarDay.objects.create(group=world.a1.group, day=day.date(), kind=DayKind.HOLIDAY, name="国庆节")
        assert self.day_charge(world, day) == Decimal("7.20")  # the holiday falls back to weekend: 24 × 0.30

    def test_a_make_up_workday_on_a_saturday_is_priced_as_a_workday(self, world: Any) -> None:
        day = at(2026, 10, 10)  # a Saturday: the weekend schedule would give 7.20
        CalendarDay.objects.create(group=world.a1.group, day=day.date(), kind=DayKind.WORKDAY, name="调休")
        assert self.day_charge(world, day) == Decimal("15.00")

    def test_another_groups_calendar_changes_nothing(self, world: Any) -> None:
        day = at(2026, 10, 1)
        CalendarDay.objects.create(group=world.b1.group, day=day.date(), kind=DayKind.HOLIDAY)
        assert self.day_charge(world, day) == Decimal("15.00")
