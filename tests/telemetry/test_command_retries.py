"""Failed remote commands are retried with exponential backoff, then fail and the clerks are told.

Real sockets, real simulated DL/T 645 meters: one that refuses (answers an error frame), one that is
offline (connection refused, or no answer at all) and one that answers late. The ``clock`` fixture
decides when a retry is due; nothing sleeps for a backoff.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from prepay.audit.models import AuditEvent
from prepay.notify.models import Notification
from prepay.telemetry.actions import do_bind_meter, do_queue_command
from prepay.telemetry.models import CommandStatus, MeterCommand
from prepay.telemetry.poller import Poller
from tests import factories as f
from tests.ports import free_port
from tests.telemetry.conftest import new_meter


@pytest.fixture
def backoff(settings: Any) -> None:
    """30 s, 60 s, then the 120 s cap; four attempts in all."""
    settings.PREPAY_COMMAND_RETRY_BASE = 30
    settings.PREPAY_COMMAND_RETRY_CAP = 120
    settings.PREPAY_COMMAND_MAX_ATTEMPTS = 4


def attempt(meter: Any, cmd: MeterCommand, **options: Any) -> MeterCommand:
    with Poller(timeout=options.pop("timeout", 0.5), retries=0, **options) as p:
        p.cycle([meter])
    cmd.refresh_from_db()
    return cmd


def settle(vm: Any, limit: float = 5.0) -> None:
    """Wait (bounded) until the simulated meter has sent every answer it was holding back."""
    end = time.monotonic() + limit
    while vm.delayed and time.monotonic() < end:
        time.sleep(0.02)


class CommandRetryTestCase:
    def test_it_backs_off_exponentially_up_to_the_cap_from_a_refusing_meter_then_gives_up(
        self, world, make_sim, clock, backoff
    ):
        world.clerk.email = "clerk@a1.example.cn"
        world.clerk.save()
        meter = new_meter(world, "single")
        acc = f.account(world.a1, meter_=meter)
        sim = make_sim([(meter, "dlt645")])
        sim.vm(meter).refusing = True  # a suspended meter: every 0x1C gets an error frame
        cmd = do_queue_command(meter, "close", actor=None, reason="billing:paid")
        waits = []
        for n in range(1, 4):
            cmd = attempt(meter, cmd)
            assert cmd.status == CommandStatus.QUEUED and cmd.attempts == n
            assert "refused" in cmd.error and "meter_suspended" in cmd.error
            waits.append(cmd.next_attempt_at - timezone.now())
            clock.shift(waits[-1] - timedelta(seconds=1))
            assert attempt(meter, cmd).attempts == n  # not due yet: not sent again
            clock.shift(timedelta(seconds=1))
        assert waits == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
        cmd = attempt(meter, cmd)
        assert cmd.status == CommandStatus.FAILED and cmd.attempts == 4
        assert [e.verb for e in AuditEvent.objects.filter(object_id=str(cmd.pk)).order_by("id")] == [
            "meter.command.queue",
            *["meter.command.retry"] * 3,
            "meter.command.fail",
        ]
        [told] = Notification.objects.filter(key="command_failed")
        assert told.user == world.clerk and told.recipient == "clerk@a1.example.cn"
        assert told.account == acc and meter.serial in told.body and "meter_suspended" in told.body

    def test_it_retries_an_offline_meter_until_its_dtu_answers_again(self, world, make_sim, clock, backoff):
        meter = new_meter(world, "single")
        sim = make_sim([(meter, "dlt645")])
        params = dict(meter.comm_params)
        do_bind_meter(meter, protocol="dlt645", comm_params=params | {"port": free_port()}, actor=None)
        cmd = do_queue_command(meter, "trip", actor=None, reason="billing:zero")
        cmd = attempt(meter, cmd)
        assert cmd.status == CommandStatus.QUEUED and "cannot connect" in cmd.error
        do_bind_meter(meter, protocol="dlt645", comm_params=params, actor=None)  # the DTU is back
        clock.shift(timedelta(seconds=30))
        cmd = attempt(meter, cmd)
        assert cmd.status == CommandStatus.CONFIRMED and cmd.attempts == 2 and sim.vm(meter).relay_open

    def test_it_retries_a_meter_that_does_not_answer_and_fails_after_the_last_attempt(
        self, world, make_sim, clock, backoff
    ):
        meter = new_meter(world, "single")
        sim = make_sim([(meter, "dlt645")])
        sim.vm(meter).silent = True  # out of coverage: every request times out
        cmd = do_queue_command(meter, "keep_power", actor=None, reason="protected supply #1: hospital")
        for wait in (30, 60, 120):
            cmd = attempt(meter, cmd, timeout=0.2)
            assert cmd.status == CommandStatus.QUEUED and "no reply" in cmd.error
            clock.shift(timedelta(seconds=wait))
        cmd = attempt(meter, cmd, timeout=0.2)
        assert cmd.status == CommandStatus.FAILED and cmd.attempts == 4
        # nobody at the site has an e-mail address and there is no channel: still recorded
        assert Notification.objects.get(key="command_failed").status == "no_channel"

    @pytest.mark.parametrize(("kind", "protocol"), [("single", "dlt645"), ("water", "cjt188")])
    def test_it_confirms_a_command_on_time_after_the_meter_answered_too_late(
        self, world, make_sim, clock, backoff, kind, protocol
    ):
        """A late reply still in the connection is skipped (DL/T 645: by function and data item;
        CJ/T 188: by its sequence number, SER), never taken for the answer to the next request."""
        meter = new_meter(world, kind)
        sim = make_sim([(meter, protocol)])
        vm = sim.vm(meter)
        vm.reply_delay = 0.6  # beyond the driver's 0.3 s timeout
        cmd = do_queue_command(meter, "trip", actor=None, reason="billing:zero")
        with Poller(timeout=0.3, retries=0) as p:  # one poller, one connection: as the daemon runs
            p.cycle([meter])
            cmd.refresh_from_db()
            assert cmd.status == CommandStatus.QUEUED and "no reply within" in cmd.error
            vm.reply_delay = 0.0  # on time again; the late answers are still on their way
            settle(vm)
            clock.shift(timedelta(seconds=30))
            p.cycle([meter])
            cmd.refresh_from_db()
        assert cmd.status == CommandStatus.CONFIRMED and cmd.attempts == 2, (cmd.error, cmd.attempts)
        assert vm.relay_open and cmd.result["read_back"]["relay_open"] is True

    def test_it_fails_at_once_what_no_retry_can_fix(self, world, make_sim, clock, backoff):
        meter = new_meter(world, "water")
        make_sim([(meter, "cjt188")])
        cmd = do_queue_command(meter, "credit", actor=None, reason="vend", params={"amount": "3"})
        cmd = attempt(meter, cmd)
        assert cmd.status == CommandStatus.FAILED and cmd.attempts == 1
