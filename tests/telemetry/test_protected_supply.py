"""保电 over the wire: a simulated DL/T 645 meter under keep-power does not cut itself at zero credit,
and does once the protection ends."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from prepay.billing import actions
from prepay.telemetry.actions import poll_once
from prepay.telemetry.models import CommandStatus, MeterCommand
from tests import factories as f
from tests.telemetry.conftest import new_meter


def commands(meter: Any) -> list[str]:
    return list(MeterCommand.objects.filter(meter=meter).order_by("pk").values_list("kind", flat=True))


class KeepPowerOverTheWireTestCase:
    def test_a_local_meter_keeps_power_while_protected_and_cuts_itself_after(self, world, make_sim):
        meter = new_meter(world, "single")
        acc = f.account(world.a1, meter_=meter)
        sim = make_sim([(meter, "dlt645")], credit=Decimal("13"))  # one step above the reminder cut
        vm = sim.vm(meter)
        now = timezone.now()
        prot = actions.do_protect_supply(
            account=acc, starts_at=now, ends_at=now + timedelta(days=2), reason="oxygen", actor=world.clerk
        )
        assert commands(meter) == ["keep_power"]
        poll_once()
        assert vm.keep_power and MeterCommand.objects.get().status == CommandStatus.CONFIRMED
        # a day of load on the meter; its clock stays with the platform's (which a test cannot move),
        # so the release command's validity deadline still holds when it arrives
        vm.advance(vm.clock.now() + timedelta(days=1))
        assert not vm.relay_open  # it would have cut itself at 12 without keep-power
        actions.do_end_protected_supply(protection=prot, actor=world.clerk)
        assert commands(meter) == ["keep_power", "keep_power_off"]
        poll_once()
        assert not vm.keep_power
        vm.advance(vm.last + timedelta(days=1))
        assert vm.relay_open and vm.relay_reason == "reminder"
