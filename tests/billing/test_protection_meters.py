"""保电 on the meters: keep-power is sent when a protection window begins and released when it ends,
so a local-control meter does not cut itself at zero credit while its customer is protected (over the
wire: tests/telemetry/test_protected_supply.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from prepay.billing import actions, jobs
from prepay.billing.models import ProtectedSupply
from prepay.billing.supply import sync_protections
from prepay.telemetry.models import MeterCommand
from tests import factories as f


def commands(meter: Any) -> list[str]:
    return list(MeterCommand.objects.filter(meter=meter).order_by("pk").values_list("kind", flat=True))


def protect(acc: Any, world: Any, start: timedelta, length: timedelta) -> Any:
    now = timezone.now()
    return actions.do_protect_supply(
        account=acc, starts_at=now + start, ends_at=now + start + length, reason="oxygen", actor=world.clerk
    )


class KeepPowerCommandsTestCase:
    def networked(self, world) -> tuple[Any, Any]:
        meter = f.meter(world.a1, protocol="dlt645", comm_params={"address": "000000000001"})
        return f.account(world.a1, meter_=meter), meter

    def test_a_window_that_begins_later_gets_keep_power_from_the_daemon_when_it_begins(self, world):
        acc, meter = self.networked(world)
        prot = protect(acc, world, timedelta(hours=1), timedelta(hours=2))
        assert commands(meter) == []
        assert sync_protections() == {"keep_power": 0, "released": 0}
        assert sync_protections(prot.starts_at) == {"keep_power": 1, "released": 0}
        assert sync_protections(prot.starts_at + timedelta(minutes=5))["keep_power"] == 0  # once
        assert commands(meter) == ["keep_power"]
        assert sync_protections(prot.ends_at) == {"keep_power": 0, "released": 1}
        assert sync_protections(prot.ends_at + timedelta(minutes=5))["released"] == 0
        assert commands(meter) == ["keep_power", "keep_power_off"]
        prot.refresh_from_db()
        assert prot.keep_power_at == prot.starts_at and prot.released_at == prot.ends_at

    def test_a_protection_still_in_force_keeps_the_power_on(self, world):
        acc, meter = self.networked(world)
        first = protect(acc, world, -timedelta(minutes=1), timedelta(hours=1))
        protect(acc, world, -timedelta(minutes=1), timedelta(days=1))
        actions.do_end_protected_supply(protection=first, actor=world.clerk)
        # the second window still protects the customer: nothing releases the meter yet
        assert commands(meter) == ["keep_power", "keep_power"]
        first.refresh_from_db()
        assert first.released_at is not None

    def test_the_daemon_tick_runs_it(self, world):
        acc, meter = self.networked(world)
        prot = protect(acc, world, timedelta(hours=1), timedelta(hours=2))
        now = timezone.now()
        ProtectedSupply.objects.filter(pk=prot.pk).update(starts_at=now - timedelta(minutes=1))
        out = jobs.tick("test")
        assert (out["keep_power"], out["released"]) == (1, 0)
        ProtectedSupply.objects.filter(pk=prot.pk).update(ends_at=now - timedelta(seconds=1))
        out = jobs.tick("test")
        assert (out["keep_power"], out["released"]) == (0, 1)
        assert commands(meter) == ["keep_power", "keep_power_off"]

    def test_a_keypad_meter_without_a_network_gets_no_command(self, world):
        meter = f.meter(world.a1)
        acc = f.account(world.a1, meter_=meter)
        prot = protect(acc, world, -timedelta(minutes=1), timedelta(hours=1))
        actions.do_end_protected_supply(protection=prot, actor=world.clerk)
        assert commands(meter) == []
        prot.refresh_from_db()
        assert prot.keep_power_at is not None and prot.released_at is not None
