"""The batch path's common case (consumption from a reading summary, no per-reading domain work) charges
exactly as the one-account path (full domain metering), and hands every unusual case to the full path."""

from __future__ import annotations

from datetime import datetime
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
