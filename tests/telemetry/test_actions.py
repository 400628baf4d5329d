"""do_queue_command / do_cancel_command: happy paths, every refusal, wrong role, outsiders."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from prepay.audit.models import AuditEvent
from prepay.meters.choices import MeterStatus
from prepay.telemetry.actions import do_cancel_command, do_queue_command, ensure_link, finish_command
from prepay.telemetry.models import CommandStatus, MeterCommand
from prepay.telemetry.retry import RetryPolicy
from tests import factories as f
from tests.helpers import refused


@pytest.fixture
def meter(world):
    m = world.a1.meters[0]
    m.protocol = "modbus_tcp"
    m.comm_params = {"host": "127.0.0.1", "port": 1, "unit": 1}
    m.save()
    return m


class TestQueueCommand:
    def test_it_queues_a_trip_for_a_clerk_and_audits_it(self, world, meter):
        cmd = do_queue_command(meter, "trip", actor=world.clerk, reason="arrears")
        assert cmd.status == CommandStatus.QUEUED
        assert cmd.requested_by == world.clerk
        ev = AuditEvent.objects.get(verb="meter.command.queue")
        assert ev.actor == world.clerk and ev.site_id == meter.site_id

    def test_it_lets_the_system_queue_without_an_actor(self, world, meter):
        cmd = do_queue_command(meter, "trip", actor=None, reason="balance below zero")
        assert cmd.requested_by is None
        assert AuditEvent.objects.get(verb="meter.command.queue").actor_name == "system"

    def test_it_brings_the_meter_forward_for_polling(self, world, meter):
        link = ensure_link(meter, at=timezone.now() + timedelta(hours=1))
        do_queue_command(meter, "close", actor=None, reason="top-up")
        link.refresh_from_db()
        assert link.next_poll_at <= timezone.now()

    def test_it_normalises_a_credit_amount(self, world, meter):
        cmd = do_queue_command(meter, "credit", actor=world.cashier, reason="vend", params={"amount": "12.5"})
        assert cmd.params == {"amount": "12.50"}

    def test_it_returns_the_same_command_for_a_repeated_key(self, world, meter):
        a = do_queue_command(
            meter, "credit", actor=None, reason="vend", params={"amount": 5}, idempotency_key="k1"
        )
        b = do_queue_command(
            meter, "credit", actor=None, reason="vend", params={"amount": 5}, idempotency_key="k1"
        )
        assert a.pk == b.pk
        assert MeterCommand.objects.count() == 1
        assert AuditEvent.objects.filter(verb="meter.command.queue").count() == 1

    def test_it_refuses_a_key_used_for_another_command(self, world, meter):
        do_queue_command(meter, "trip", actor=None, reason="x", idempotency_key="k2")
        refused(
            "idempotency_conflict",
            do_queue_command,
            meter=meter,
            kind="close",
            actor=None,
            reason="x",
            idempotency_key="k2",
        )

    def test_it_refuses_an_unknown_kind(self, world, meter):
        refused("unknown_command", do_queue_command, meter=meter, kind="explode", actor=None, reason="x")

    def test_it_refuses_an_empty_reason(self, world, meter):
        refused("reason_required", do_queue_command, meter=meter, kind="trip", actor=None, reason="  ")

    @pytest.mark.parametrize("amount", [None, "abc", "0", "-1", "1.234", "9999999", True, "NaN"])
    def test_it_refuses_a_bad_credit_amount(self, world, meter, amount):
        refused(
            "invalid_amount",
            do_queue_command,
            meter=meter,
            kind="credit",
            actor=None,
            reason="x",
            params={"amount": amount},
        )

    def test_it_refuses_a_bad_alarm_parameter(self, world, meter):
        refused(
            "invalid",
            do_queue_command,
            meter=meter,
            kind="alarm",
            actor=None,
            reason="x",
            params={"on": "yes"},
        )

    def test_it_refuses_relay_commands_without_a_relay(self, world, meter):
        meter.model.has_relay = False
        meter.model.save()
        refused("no_relay", do_queue_command, meter=meter, kind="trip", actor=None, reason="x")

    @pytest.mark.parametrize("status", [MeterStatus.FAULTY, MeterStatus.RETIRED])
    def test_it_refuses_an_unusable_meter(self, world, meter, status):
        meter.status = status
        meter.save()
        refused("meter_unusable", do_queue_command, meter=meter, kind="trip", actor=None, reason="x")

    def test_it_refuses_a_cashier_tripping(self, world, meter):
        refused("forbidden", do_queue_command, meter=meter, kind="trip", actor=world.cashier, reason="x")

    def test_it_refuses_an_auditor(self, world, meter):
        refused(
            "forbidden",
            do_queue_command,
            meter=meter,
            kind="credit",
            actor=world.auditor,
            reason="x",
            params={"amount": "1"},
        )

    def test_it_refuses_a_clerk_of_another_site(self, world, meter):
        refused("forbidden", do_queue_command, meter=meter, kind="trip", actor=world.clerk_a2, reason="x")

    def test_it_refuses_a_clerk_of_another_group(self, world, meter):
        refused("forbidden", do_queue_command, meter=meter, kind="trip", actor=world.clerk_b, reason="x")

    def test_it_lets_the_admin_sync_clocks(self, world, meter):
        assert do_queue_command(meter, "sync_clock", actor=world.admin, reason="drift").kind == "sync_clock"


class TestFinishCommand:
    def test_it_retries_then_fails_and_audits_each_attempt_with_the_requester(self, world, meter):
        policy = RetryPolicy(timedelta(seconds=1), timedelta(seconds=1), max_attempts=2)
        cmd = do_queue_command(meter, "trip", actor=world.clerk, reason="arrears")
        cmd = finish_command(cmd, confirmed=False, error="timeout", policy=policy)
        assert cmd.status == CommandStatus.QUEUED and cmd.attempts == 1
        cmd = finish_command(cmd, confirmed=False, error="timeout", policy=policy)
        assert cmd.status == CommandStatus.FAILED and cmd.attempts == 2
        events = AuditEvent.objects.filter(verb__in=["meter.command.retry", "meter.command.fail"])
        assert [e.actor for e in events] == [world.clerk, world.clerk]

    def test_it_confirms(self, world, meter):
        cmd = do_queue_command(meter, "trip", actor=None, reason="x")
        cmd = finish_command(cmd, confirmed=True, result={"read_back": {}})
        assert cmd.status == CommandStatus.CONFIRMED and cmd.completed_at is not None


class TestCancelCommand:
    def test_it_cancels_a_queued_command(self, world, meter):
        cmd = do_queue_command(meter, "trip", actor=world.clerk, reason="x")
        assert do_cancel_command(cmd, actor=world.clerk, reason="paid").status == CommandStatus.CANCELLED

    def test_it_refuses_a_finished_command(self, world, meter):
        cmd = do_queue_command(meter, "trip", actor=world.clerk, reason="x")
        finish_command(cmd, confirmed=True)
        refused("not_pending", do_cancel_command, cmd=cmd, actor=world.clerk, reason="late")

    def test_it_refuses_an_outsider(self, world, meter):
        cmd = do_queue_command(meter, "trip", actor=world.clerk, reason="x")
        refused("forbidden", do_cancel_command, cmd=cmd, actor=world.clerk_b, reason="x")


def test_factory_meter_without_protocol_can_be_queued(world):
    m = f.meter(world.a1)
    assert do_queue_command(m, "credit", actor=None, reason="x", params={"amount": Decimal("1")}).pk
