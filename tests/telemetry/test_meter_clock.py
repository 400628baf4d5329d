"""DL/T 645 relay deadlines come from the meter's own clock (issue 20: in the demo a paying customer
stayed cut off, every 0x1C refused ``deadline_invalid``, because the deadline came from the server's
clock while the simulated meters' clocks run at the simulator's speed).

Real sockets, real simulated meters (``prepay simulate`` fleets).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from prepay.billing import supply
from prepay.common.actions import locked
from prepay.customers.models import Account
from prepay.simulator.binding import bind_fleet
from prepay.simulator.clock import SimClock
from prepay.simulator.fleet import Fleet, FleetThread
from prepay.telemetry.actions import do_bind_meter, do_queue_command, poll_once
from prepay.telemetry.models import CommandKind, CommandStatus, MeterCommand
from tests.billing.conftest import pay, remote_account
from tests.telemetry.conftest import new_meter


@pytest.fixture
def demo_fleet() -> Iterator[Any]:
    """``demo_fleet(meters, speed, ahead)``: a fleet on a :class:`SimClock` (as ``prepay demo``),
    its meters' clocks ``ahead`` of the platform's — a demo that has run for a while."""
    threads: list[FleetThread] = []

    def start(meters: list[Any], *, speed: float = 60, ahead: timedelta = timedelta(0)) -> Fleet:
        fleet = Fleet(per_port=8)
        bind_fleet(meters, fleet, SimClock(datetime.now(UTC) + ahead, speed), protocol="dlt645")
        threads.append(FleetThread(fleet).start())
        for m in meters:
            m.refresh_from_db()
        return fleet

    yield start
    for t in threads:
        t.stop()


def evaluate(acc: Account) -> None:
    with transaction.atomic():
        supply.evaluate_supply(locked(Account, acc.pk))


class MeterClockDeadlineTestCase:
    def test_it_takes_the_deadline_from_a_meter_clock_running_ahead_of_the_server(
        self, world, make_sim, clock
    ):
        meter = new_meter(world, "single")
        sim = make_sim([(meter, "dlt645")])
        sim.advance(hours=2)  # the meter's clock is two hours fast
        cmd = do_queue_command(meter, "trip", actor=None, reason="arrears")
        assert poll_once([meter]).commands_confirmed == 1
        cmd.refresh_from_db()
        assert cmd.status == CommandStatus.CONFIRMED and sim.vm(meter).relay_open
        assert cmd.result["meter_clock_offset_s"] == 7200  # measured, and kept with the command

    def test_it_was_refused_deadline_invalid_with_the_servers_clock(self, world, make_sim, clock):
        meter = new_meter(world, "single")
        sim = make_sim([(meter, "dlt645")])
        sim.advance(hours=2)
        # what every DL/T 645 meter got before: a deadline from the server's clock
        do_bind_meter(
            meter, protocol="dlt645", comm_params=meter.comm_params | {"deadline_clock": "server"}, actor=None
        )
        cmd = do_queue_command(meter, "trip", actor=None, reason="arrears")
        poll_once([meter])
        cmd.refresh_from_db()
        assert "deadline_invalid" in cmd.error and not sim.vm(meter).relay_open
        assert cmd.status == CommandStatus.QUEUED  # retried with backoff, no longer dropped

    def test_it_restores_a_paying_customer_while_the_demo_fleet_runs_at_60x(self, world, demo_fleet):
        meter = new_meter(world, "single")
        acc = remote_account(world.a1, meter=meter, start=timezone.now() - timedelta(days=1))
        fleet = demo_fleet([meter], speed=60, ahead=timedelta(hours=1))  # the demo an hour (a minute) in
        vm = fleet.meter(meter.serial)
        evaluate(acc)  # ¥0: cut until payment
        poll_once([meter])
        assert vm.relay_open
        pay(acc, "50.00", "pay-1")
        evaluate(acc)
        close = MeterCommand.objects.get(meter=meter, kind=CommandKind.CLOSE)
        assert close.reason == "billing:paid"
        poll_once([meter])
        close.refresh_from_db()
        assert close.status == CommandStatus.CONFIRMED and not vm.relay_open
        assert close.result["meter_clock_offset_s"] >= 3600

    def test_it_syncs_a_meter_clock_to_the_platforms_time_in_its_time_zone(self, world, make_sim, clock):
        meter = new_meter(world, "single")
        sim = make_sim([(meter, "dlt645")])
        sim.advance(hours=3, minutes=7)
        vm = sim.vm(meter)
        assert vm.meter_time() == timezone.now() + timedelta(hours=3, minutes=7)
        do_queue_command(meter, "sync_clock", actor=None, reason="drift")
        assert poll_once([meter]).commands_confirmed == 1
        assert vm.meter_time() == timezone.now()  # Asia/Shanghai wall clock, as the platform's
        cmd = do_queue_command(meter, "close_allowed", actor=None, reason="restore")
        poll_once([meter])
        cmd.refresh_from_db()
        assert cmd.result["meter_clock_offset_s"] == 0

    def test_a_credit_push_needs_no_clock(self, world, make_sim, clock):
        meter = new_meter(world, "single")
        sim = make_sim([(meter, "dlt645")], credit=Decimal("10"))
        sim.advance(days=400)
        cmd = do_queue_command(meter, "credit", actor=None, reason="vend", params={"amount": "5"})
        poll_once([meter])
        cmd.refresh_from_db()
        assert cmd.status == CommandStatus.CONFIRMED and "meter_clock_offset_s" not in cmd.result
