"""``alert_overdue_commands``: a supply restore (close) not confirmed in time is told to the site's
clerks once, even while it is still retrying; nothing else, nobody else."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from prepay.audit.models import AuditEvent
from prepay.notify.models import Channel, Notification
from prepay.telemetry.actions import alert_overdue_commands, do_queue_command, finish_command
from prepay.tenancy.choices import Role
from tests import factories as f


@pytest.fixture
def paid(world: Any, clock: Any) -> Any:
    """A customer of A1 whose payment queued a close; the site's clerk has an e-mail address."""
    world.clerk.email = "clerk@a1.example.cn"
    world.clerk.save()
    world.clerk_a2.email = "clerk@a2.example.cn"
    world.clerk_a2.save()
    acc = f.account(world.a1, meter_=f.meter(world.a1), customer=f.customer(world.a1, name="李四"))
    meter = acc.installations.get().meter
    return acc, do_queue_command(meter, "close", actor=None, reason="billing:paid")


class AlertOverdueCommandsTestCase:
    def test_it_tells_the_sites_clerks_once_while_the_close_keeps_retrying(self, world, paid, clock):
        acc, cmd = paid
        finish_command(cmd, confirmed=False, error="connect: cannot connect to 127.0.0.1:9")
        clock.shift(timedelta(minutes=9, seconds=59))
        assert alert_overdue_commands() == 0  # not overdue yet
        clock.shift(timedelta(seconds=1))
        assert alert_overdue_commands() == 1
        assert alert_overdue_commands() == 0  # once
        [n] = Notification.objects.filter(key="restore_overdue")
        assert n.user == world.clerk and n.recipient == "clerk@a1.example.cn" and n.account == acc
        assert n.subject == f"Supply restore not confirmed: {acc.number}"
        assert "the customer has paid" in n.body and "cannot connect" in n.body and "李四" in n.body
        cmd.refresh_from_db()
        assert cmd.alerted_at is not None and cmd.status == "queued"
        assert AuditEvent.objects.filter(verb="meter.command.overdue", object_id=str(cmd.pk)).count() == 1

    def test_it_tells_group_wide_clerks_and_the_sites_webhook_but_not_other_sites(self, world, paid, clock):
        acc, _cmd = paid
        boss = f.user("clerk_ga", memberships=[(world.a1.group, None, Role.CLERK)], email="ga@example.cn")
        hook = Channel.objects.create(
            group=world.a1.group,
            site=world.a1.site,
            kind="webhook",
            name="office",
            config={"url": "http://h"},
        )
        Channel.objects.create(group=world.a1.group, site=world.a2.site, kind="webhook", name="a2", config={})
        clock.shift(timedelta(minutes=10))
        alert_overdue_commands()
        told = Notification.objects.filter(key="restore_overdue")
        assert {(n.user, n.channel) for n in told} == {(world.clerk, None), (boss, None), (None, hook)}
        assert not told.filter(recipient="clerk@a2.example.cn").exists()

    def test_it_leaves_confirmed_cancelled_and_other_commands_alone(self, world, paid, clock):
        _acc, cmd = paid
        meter = cmd.meter
        finish_command(cmd, confirmed=True)
        do_queue_command(meter, "trip", actor=None, reason="billing:zero")  # not a restore
        clock.shift(timedelta(hours=1))
        assert alert_overdue_commands() == 0
        assert not Notification.objects.exists()

    def test_it_records_the_alert_when_nobody_can_be_reached(self, world, clock):
        acc = f.account(world.a2, meter_=f.meter(world.a2))
        do_queue_command(acc.installations.get().meter, "close", actor=None, reason="restore")
        clock.shift(timedelta(minutes=10))
        assert alert_overdue_commands() == 1
        [n] = Notification.objects.all()
        assert n.status == "no_channel" and "restored at the counter" in n.body

    def test_it_waits_as_long_as_the_settings_say(self, world, paid, clock, settings):
        settings.PREPAY_COMMAND_OVERDUE_AFTER = 120
        clock.shift(timedelta(minutes=2))
        assert alert_overdue_commands() == 1
