"""End to end over the simulator: a remote-control account consumes through level 1 (notification
recorded), level 2 (relay opens once, restore works), zero (relay opens); a vend closes the relay
within one poll cycle; re-running billing changes nothing and the ledger still adds up."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from prepay.billing import actions, jobs
from prepay.billing.models import Charge, WarningPolicy
from prepay.customers.choices import AccountMode
from prepay.dbcare import services
from prepay.meters.models import Installation
from prepay.notify.models import Notification
from prepay.tariffs.models import Tariff
from prepay.telemetry.actions import poll_once
from prepay.telemetry.models import MeterCommand
from prepay.vending import ledger
from prepay.vending.actions import do_vend
from prepay.vending.models import LedgerEntry, VendingPoint
from prepay.vending.shifts import do_open_shift
from tests import factories as f
from tests.telemetry.conftest import new_meter

MAX_HOURS = 24 * 14


def notified(acc: Any) -> list[str]:
    return list(Notification.objects.filter(account=acc).order_by("pk").values_list("key", flat=True))


def relay_commands(meter: Any) -> list[str]:
    return list(
        MeterCommand.objects.filter(meter=meter, kind__in=["trip", "close"])
        .order_by("pk")
        .values_list("kind", flat=True)
    )


class EndToEndTestCase:
    def test_it_warns_cuts_restores_and_closes_on_a_vend(self, world: Any, make_sim: Any) -> None:
        w = world.a1
        meter = new_meter(world, "single")
        pricey = Tariff.objects.create(
            group=w.group,
            code="e2e",
            name="e2e",
            unit_price=Decimal("5.0000"),
            effective_from=w.tariff.effective_from,
        )
        acc = f.account(w, mode=AccountMode.REMOTE, tariff=pricey)
        Installation.objects.create(
            meter=meter,
            account=acc,
            unit=acc.unit,
            started_at=timezone.now() - timedelta(minutes=5),
            opening_reading=Decimal("0"),
        )
        WarningPolicy.objects.create(group=w.group, account=acc, level1=Decimal("30"), level2=Decimal("15"))
        point = VendingPoint.objects.create(site=w.site, code="c1", name="Counter 1")
        do_open_shift(point=point, actor=world.cashier)
        do_vend(account=acc, actor=world.cashier, point=point, idempotency_key="v1", amount="45.00")
        sim = make_sim([(meter, "modbus_tcp")])  # no 0x1C deadlines against the fast-running sim clock
        vm = sim.vm(meter)

        def cycle(hours: int = 1) -> None:
            sim.advance(hours=hours)
            poll_once([meter])  # read
            jobs.charge_due()  # charge, warn, queue relay commands
            poll_once([meter])  # execute them (one poll cycle)

        def until(cond: Any) -> None:
            for _ in range(MAX_HOURS):
                if cond():
                    return
                cycle()
            raise AssertionError("the simulated load never got there")

        until(lambda: "level1" in notified(acc))
        assert relay_commands(meter) == [] and not vm.relay_open
        until(lambda: "level2" in notified(acc))
        assert relay_commands(meter) == ["trip"] and vm.relay_open  # the reminder cut
        cycle(3)
        assert relay_commands(meter) == ["trip"]  # held open: no second reminder
        actions.do_restore_supply(account=acc, actor=world.clerk)
        poll_once([meter])
        assert not vm.relay_open
        until(lambda: "zero" in notified(acc))
        assert relay_commands(meter) == ["trip", "close", "trip"] and vm.relay_open
        assert ledger.balance_of(acc) <= 0
        do_vend(account=acc, actor=world.cashier, point=point, idempotency_key="v2", amount="100.00")
        poll_once([meter])  # one poll cycle
        assert not vm.relay_open and relay_commands(meter) == ["trip", "close", "trip", "close"]
        # re-running billing changes nothing; the ledger still adds up
        jobs.charge_due()  # the last poll's reading
        before = (list(LedgerEntry.objects.values_list("pk", "amount")), Charge.objects.count())
        assert jobs.charge_due() == 0
        assert (list(LedgerEntry.objects.values_list("pk", "amount")), Charge.objects.count()) == before
        assert services.check() == []
