"""The poller against virtual meters over real loopback sockets (Modbus TCP, DL/T 645, CJ/T 188)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from prepay.audit.models import AuditEvent
from prepay.telemetry.actions import do_queue_command, poll_once
from prepay.telemetry.models import CommandStatus, MeterEvent, MeterLink, MeterReading, RelayState
from prepay.telemetry.poller import Poller
from tests.telemetry.conftest import new_meter


class TestPollFleet:
    def test_it_reads_a_fleet_speaking_each_protocol(self, world, make_sim):
        meters = [
            (new_meter(world, "single"), "dlt645"),
            (new_meter(world, "three", ct_ratio=50), "modbus_tcp"),
            (new_meter(world, "water"), "cjt188"),
            (new_meter(world, "single"), "modbus_tcp"),
        ]
        sim = make_sim(meters)
        sim.advance(hours=6)
        summary = poll_once()
        assert summary.claimed == 4 and summary.ok == 4 and summary.failed == 0
        for meter, _proto in meters:
            r = MeterReading.objects.get(meter=meter)
            vm = sim.vm(meter)
            assert r.register == vm.register()
            assert r.energy == r.register * meter.multiplier
            link = MeterLink.objects.get(meter=meter)
            assert link.online and link.relay_state == RelayState.CLOSED
        assert MeterEvent.objects.filter(kind="online").count() == 4

    def test_it_applies_the_ct_multiplier_to_energy(self, world, make_sim):
        meter = new_meter(world, "three", ct_ratio=200)
        sim = make_sim([(meter, "modbus_tcp")])
        sim.advance(days=1)
        poll_once([meter])
        r = MeterReading.objects.get(meter=meter)
        assert r.register > 0
        assert r.energy == r.register * 200
        assert r.peak == sim.vm(meter).tou_registers()[1] * 200

    def test_it_marks_a_silent_meter_offline_after_repeated_failures_and_back_online(self, world, make_sim):
        meter = new_meter(world, "single")
        sim = make_sim([(meter, "dlt645")])
        with Poller(timeout=0.3, retries=0, offline_after=2) as p:
            assert p.cycle([meter]).ok == 1
            vm = sim.vm(meter)
            vm.silent = True  # out of coverage
            assert p.cycle([meter]).failed == 1
            assert MeterLink.objects.get(meter=meter).online
            assert p.cycle([meter]).went_offline == 1
            assert not MeterLink.objects.get(meter=meter).online
            vm.silent = False
            assert p.cycle([meter]).came_online == 1
        kinds = list(MeterEvent.objects.filter(meter=meter).order_by("pk").values_list("kind", flat=True))
        assert kinds == ["online", "offline", "online"]

    def test_it_trips_and_closes_with_read_back_confirmation_audited_with_the_requester(
        self, world, make_sim
    ):
        meter = new_meter(world, "single")
        sim = make_sim([(meter, "dlt645")])
        cmd = do_queue_command(meter, "trip", actor=world.clerk, reason="arrears")
        summary = poll_once()
        assert summary.commands_confirmed == 1
        cmd.refresh_from_db()
        assert cmd.status == CommandStatus.CONFIRMED and cmd.result["read_back"]["relay_open"] is True
        assert sim.vm(meter).relay_open
        assert MeterLink.objects.get(meter=meter).relay_state == RelayState.OPEN
        ev = AuditEvent.objects.get(verb="meter.command.confirm")
        assert ev.actor == world.clerk and ev.after["requested_by"] == "clerk_a1"
        do_queue_command(meter, "close", actor=None, reason="paid")
        poll_once()
        assert not sim.vm(meter).relay_open
        assert (
            AuditEvent.objects.filter(verb="meter.command.confirm").order_by("id").last().actor_name
            == "system"
        )

    def test_it_trips_over_modbus_and_closes_a_water_valve(self, world, make_sim):
        m1, m2 = new_meter(world, "three"), new_meter(world, "water")
        sim = make_sim([(m1, "modbus_tcp"), (m2, "cjt188")])
        do_queue_command(m1, "trip", actor=None, reason="x")
        do_queue_command(m2, "trip", actor=None, reason="x")
        assert poll_once().commands_confirmed == 2
        assert sim.vm(m1).relay_open and sim.vm(m2).relay_open

    def test_it_retries_a_trip_the_meter_refuses_under_keep_power(self, world, make_sim, clock):
        meter = new_meter(world, "single")
        sim = make_sim([(meter, "dlt645")])
        do_queue_command(meter, "keep_power", actor=None, reason="hospital")
        poll_once()
        cmd = do_queue_command(meter, "trip", actor=None, reason="arrears")
        poll_once()
        cmd.refresh_from_db()
        assert cmd.status == CommandStatus.QUEUED and "keep_power_active" in cmd.error
        assert cmd.next_attempt_at == timezone.now() + timedelta(seconds=30)  # retried with backoff
        assert not sim.vm(meter).relay_open

    def test_it_pushes_credit_once_even_when_retried(self, world, make_sim):
        meter = new_meter(world, "single")
        sim = make_sim([(meter, "modbus_tcp")], credit=Decimal("50"))
        cmd = do_queue_command(meter, "credit", actor=world.cashier, reason="vend", params={"amount": "25"})
        poll_once()
        cmd.refresh_from_db()
        assert cmd.status == CommandStatus.CONFIRMED and cmd.result["sequence"] == 1
        vm = sim.vm(meter)
        assert vm.credit == Decimal("75") and vm.purchase_count == 1
        # a retry of the same command after a lost confirmation must not load it again
        cmd.status = CommandStatus.QUEUED
        cmd.save()
        poll_once([meter])
        assert vm.credit == Decimal("75")

    def test_it_fails_credit_on_a_meter_that_cannot_take_it(self, world, make_sim):
        meter = new_meter(world, "water")
        make_sim([(meter, "cjt188")])
        cmd = do_queue_command(meter, "credit", actor=None, reason="x", params={"amount": "3"})
        poll_once()
        cmd.refresh_from_db()
        assert cmd.status == CommandStatus.FAILED and cmd.attempts == 1
