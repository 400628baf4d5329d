"""The batch path's common case (consumption from a reading summary, no per-reading domain work) charges
exactly as the one-account path (full domain metering), and hands every unusual case to the full path."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from prepay.billing import actions
from prepay.billing.charging import charge_batch, charge_key
from prepay.billing.models import Charge
from prepay.common.errors import ActionError
from prepay.domain.metering import MeteringError
from prepay.vending import ledger
from prepay.vending.models import EntryKind, LedgerEntry
from tests import factories as f
from tests.billing.conftest import at, hours, meter_of, pay, read, remote_account, tariff
from tests.billing.test_charging import TIERS


def figures(acc: Any) -> list[tuple[Any, ...]]:
    return list(
        Charge.objects.filter(account=acc)
        .order_by("period_start")
        .values_list(
            "period_start",
            "period_end",
            "from_register",
            "to_register",
            "energy",
            "tier_energy",
            "amount",
            "vat",
            "lines",
            "flags",
        )
    )


def one(acc: Any, until: datetime) -> None:
    with transaction.atomic():
        actions.charge_and_evaluate(acc, until=until)


def twins(w: Any, t: Any, registers: list[str], *, start: datetime, n: int = 3, **meter_kw: Any) -> list[Any]:
    """``n`` accounts on tariff ``t``, each with a fresh meter reading ``registers`` hourly from ``start``."""
    accs = []
    for k in range(n):
        acc = remote_account(w, tariff=t, meter=f.meter(w, **meter_kw), unit=w.units[k])
        pay(acc, "1000.00", f"pay{acc.pk}")
        for when, reg in zip(hours(start, len(registers)), registers, strict=True):
            read(meter_of(acc), when, reg)
        accs.append(acc)
    return accs


class FastPathTestCase:
    def test_it_charges_monotonic_readings_like_the_full_path(self, world: Any) -> None:
        w = world.a1
        t = tariff(w, "tier", "tiered", TIERS, vat_rate=Decimal("0.13"), vat_included=False)
        regs = ["1.250", "1.250", "3.000", "3.001", "7.500", "7.500"]  # equal values: zero intervals
        ref, *batch = twins(w, t, regs, start=at(2026, 3, 5, 1), ct_ratio=80)
        one(ref, at(2026, 3, 6))
        assert sorted(charge_batch([a.pk for a in batch], until=at(2026, 3, 6))) == [a.pk for a in batch]
        expected = figures(ref)
        assert len(expected) == 1 and expected[0][4] == Decimal("600.000")  # 7.5 × CT 80
        for acc in batch:
            assert figures(acc) == expected
            assert ledger.balance_of(acc) == ledger.balance_of(ref) < Decimal("1000.00")
        charge_batch([a.pk for a in batch], until=at(2026, 3, 6))  # re-run: nothing new
        assert sum(len(figures(a)) for a in batch) == 2
        for acc in [ref, *batch]:  # more readings later continue from the high-water mark
            read(meter_of(acc), at(2026, 3, 6, 2), "9.000")
        one(ref, at(2026, 3, 7))
        charge_batch([a.pk for a in batch], until=at(2026, 3, 7))
        for acc in batch:
            assert figures(acc) == figures(ref)
            assert len(figures(acc)) == 2
            assert ledger.balance_of(acc) == ledger.balance_of(ref)

    @pytest.mark.parametrize(
        ("regs", "flag"),
        [
            (["5.000", "6.000", "4.000", "8.000"], "backwards"),
            (["999998.000", "999999.500", "1.000", "2.000"], "rollover"),
            (["0.500", "1.000", "2.000", "3.000"], ""),  # first below the opening: backwards
        ],
    )
    def test_it_leaves_unusual_readings_to_the_full_path(
        self, world: Any, regs: list[str], flag: str
    ) -> None:
        w = world.a1
        t = tariff(w, "tier", "tiered", TIERS)
        opening = "999990" if flag == "rollover" else ("1.5" if not flag else "0")
        accs = []
        for k in range(3):
            acc = remote_account(w, tariff=t, opening=opening, unit=w.units[k])
            pay(acc, "1000.00", f"pay{acc.pk}")
            for when, reg in zip(hours(at(2026, 3, 5, 1), len(regs)), regs, strict=True):
                read(meter_of(acc), when, reg)
            accs.append(acc)
        ref, *batch = accs
        one(ref, at(2026, 3, 6))
        charge_batch([a.pk for a in batch], until=at(2026, 3, 6))
        expected = figures(ref)
        assert "backwards" in expected[0][-1] if not flag else flag in expected[0][-1]
        for acc in batch:
            assert figures(acc) == expected
            assert ledger.balance_of(acc) == ledger.balance_of(ref)

    def test_it_charges_a_tier_cycle_crossing_like_the_full_path(self, world: Any) -> None:
        w = world.a1
        t = tariff(w, "tier", "tiered", TIERS)
        regs = [str(100 * i) for i in range(1, 9)]
        ref, *batch = twins(w, t, regs, start=at(2026, 3, 31, 20))
        one(ref, at(2026, 4, 2))
        charge_batch([a.pk for a in batch], until=at(2026, 4, 2))
        expected = figures(ref)
        assert len(expected) == 2  # cut at the month start
        for acc in batch:
            assert figures(acc) == expected

    def test_it_refuses_a_reading_the_register_cannot_show(self, world: Any) -> None:
        w = world.a1
        t = tariff(w, "tier", "tiered", TIERS)
        params = {"register_digits": 6, "register_decimals": 2}
        ref, *batch = twins(w, t, ["1.00", "2.005", "3.00"], start=at(2026, 3, 5, 1), comm_params=params)
        with pytest.raises(MeteringError):
            one(ref, at(2026, 3, 6))
        with pytest.raises(MeteringError):
            charge_batch([a.pk for a in batch], until=at(2026, 3, 6))
        assert not Charge.objects.filter(account__in=batch).exists()

    def test_it_still_guards_a_charge_key_already_used(self, world: Any) -> None:
        w = world.a1
        t = tariff(w, "tier", "tiered", TIERS)
        (acc,) = twins(w, t, ["1.000", "2.000"], start=at(2026, 3, 5, 1), n=1)
        key = charge_key(meter_of(acc).pk, at(2026, 3, 1), at(2026, 3, 5, 2))
        with transaction.atomic():
            ledger.post(acc, EntryKind.CHARGE, Decimal("-9.99"), actor=None, idempotency_key=key)
        before = LedgerEntry.objects.filter(account=acc).count()
        with pytest.raises(ActionError) as exc:
            charge_batch([acc.pk], until=at(2026, 3, 6))
        assert exc.value.code == "idempotency_conflict"
        assert LedgerEntry.objects.filter(account=acc).count() == before


def read_meters(monkeypatch: Any) -> set[int]:
    """The meters the batch reads row by row (the full domain path), recorded as it goes."""
    from prepay.billing import charging

    seen: set[int] = set()
    original = charging._readings

    def recording(meter_ids: list[int], since: datetime, until: datetime) -> Any:
        seen.update(meter_ids)
        return original(meter_ids, since, until)

    monkeypatch.setattr(charging, "_readings", recording)
    return seen


def tou_twins(
    w: Any, t: Any, points: list[tuple[datetime, str]], *, start: datetime, n: int = 3, **kw: Any
) -> list[Any]:
    """``n`` accounts on tariff ``t``, each with a meter installed at ``start`` reading ``points``."""
    accs = []
    for k in range(n):
        acc = remote_account(w, tariff=t, meter=f.meter(w, **kw), unit=w.units[k], start=start)
        pay(acc, "5000.00", f"pay{acc.pk}")
        for when, reg in points:
            read(meter_of(acc), when, reg)
        accs.append(acc)
    return accs


def every(start: datetime, step_minutes: int, registers: list[str]) -> list[tuple[datetime, str]]:
    return [(start + timedelta(minutes=step_minutes * (i + 1)), r) for i, r in enumerate(registers)]


class TouFastPathTestCase:
    """Time-of-use accounts: the batch sums each period's energy in PostgreSQL and prices the sums;
    the charges equal the one-account path's, interval by interval, in every case."""

    def check(
        self,
        world: Any,
        monkeypatch: Any,
        t: Any,
        points: list[Any],
        start: datetime,
        until: datetime,
        fast: bool,
        **kw: Any,
    ) -> list[Any]:
        from django.db import connection

        ref, *batch = tou_twins(world.a1, t, points, start=start, **kw)
        one(ref, until)
        seen = read_meters(monkeypatch)
        charge_batch([a.pk for a in batch], until=until)
        expected = figures(ref)
        assert expected and expected[0][4] > 0
        for acc in batch:
            assert figures(acc) == expected
            assert ledger.balance_of(acc) == ledger.balance_of(ref)
        went_fast = not (seen & {meter_of(a).pk for a in batch})
        assert went_fast == (fast and connection.vendor == "postgresql")
        return expected

    def test_quarter_hour_readings_over_two_days_are_summed_by_period(
        self, world: Any, monkeypatch: Any
    ) -> None:
        import random

        from tests.billing.test_charging import TOU

        t = tariff(world.a1, "tou", "tou", TOU, price="0.6000", vat_rate=Decimal("0.13"), vat_included=False)
        rng = random.Random(17)
        reg, regs = Decimal("12.345"), []
        for _ in range(2 * 96 - 3):
            reg += Decimal(rng.randint(0, 900)) / 1000
            regs.append(str(reg))
        start = at(2026, 3, 5)
        [charge] = self.check(
            world, monkeypatch, t, every(start, 15, regs), start, at(2026, 3, 8), True, ct_ratio=80
        )
        assert len(charge[8]) == 4  # all four periods priced

    def test_a_holiday_and_a_weekend_take_their_own_schedule(self, world: Any, monkeypatch: Any) -> None:
        from prepay.tariffs.models import CalendarDay, DayKind
        from tests.billing.test_charging import HOLIDAY_TOU

        t = tariff(world.a1, "tou", "tou", HOLIDAY_TOU, price="0.6000")
        start = at(2026, 10, 1)  # a Thursday, and a holiday; 3 and 4 October a weekend
        CalendarDay.objects.create(
            group=world.a1.group, day=date(2026, 10, 1), kind=DayKind.HOLIDAY, name="国庆节"
        )
        regs = [
            str(Decimal(i) / 2) for i in range(1, 5 * 24 + 1)
        ]  # to 6 October 00:00 (a month cut stops short)
        self.check(world, monkeypatch, t, every(start, 60, regs), start, at(2026, 10, 6, 1), True)

    @pytest.mark.parametrize(
        ("first", "step", "why"),
        [
            ((7, 30), 60, "an hour from 07:30 straddles 08:00"),
            ((0, 0), 150, "a reading every 2.5 hours spans midnight"),
        ],
    )
    def test_an_interval_a_boundary_cuts_goes_reading_by_reading(
        self, world: Any, monkeypatch: Any, first: tuple[int, int], step: int, why: str
    ) -> None:
        from tests.billing.test_charging import TOU

        t = tariff(world.a1, "tou", "tou", TOU, price="0.6000")
        start = at(2026, 3, 5, *first)
        regs = [str(Decimal(3 * i + 1)) for i in range(1, 30)]
        self.check(world, monkeypatch, t, every(start, step, regs), start, at(2026, 3, 9), False)

    @pytest.mark.parametrize("seed", [1, 2, 3, 4])
    def test_random_schedules_and_reading_steps_agree(self, world: Any, monkeypatch: Any, seed: int) -> None:
        import random

        rng = random.Random(seed)
        marks = sorted(rng.sample(range(15, 24 * 60, 15), 3))  # three boundaries on a quarter hour
        hhmm = ["00:00", *(f"{m // 60:02d}:{m % 60:02d}" for m in marks), "24:00"]
        names = ["valley", "flat", "peak", "flat"]
        definition = {
            "prices": {"peak": "1.0370", "flat": "0.6110", "valley": "0.3070"},
            "schedule": [[hhmm[k], hhmm[k + 1], names[k]] for k in range(4)],
        }
        t = tariff(world.a1, "rnd", "tou", definition, price="0.6000")
        start = at(2026, 4, 6) + timedelta(days=rng.randint(0, 20))  # no month start inside: one piece
        step = rng.choice([15, 30, 60])
        regs, reg = [], Decimal(rng.randint(0, 99999)) / 1000
        for _ in range(2 * 24 * 60 // step):
            reg += Decimal(rng.randint(0, 2000)) / 1000
            regs.append(str(reg))
        straddles = any(m % step for m in marks)  # a boundary between two readings: prorated, not summed
        self.check(
            world, monkeypatch, t, every(start, step, regs), start, start + timedelta(days=3), not straddles
        )
