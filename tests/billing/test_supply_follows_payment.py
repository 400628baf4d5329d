"""Supply follows payment: a paid customer whose meter does not close is never left cut off unnoticed.

A remote-control account is cut at zero over real sockets (a simulated DL/T 645 meter); the customer
pays; the meter refuses the close (or is offline). The close is retried with backoff, the account page
says so, and after ``PREPAY_COMMAND_OVERDUE_AFTER`` the billing daemon tells the site's clerks while
the close is still retrying. When the meter answers again the relay closes and the banner goes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.urls import reverse

from prepay.billing import actions, jobs
from prepay.customers.models import Account
from prepay.notify.models import Notification
from prepay.telemetry.actions import poll_once
from prepay.telemetry.models import CommandKind, CommandStatus, MeterCommand
from tests.billing.conftest import meter_of, pay, remote_account


def credited(acc: Any, amount: str, key: str) -> None:
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(pk=acc.pk)
        actions.on_account_credited(account=locked, entry=pay(locked, amount, key))


def cut_off(world: Any, make_sim: Any) -> tuple[Any, Any, Any]:
    """A remote account at ¥0 whose relay the rule has opened over the wire."""
    from django.utils import timezone

    acc = remote_account(world.a1, start=timezone.now() - timedelta(days=1))
    meter = meter_of(acc)
    sim = make_sim([(meter, "dlt645")])
    with transaction.atomic():
        from prepay.billing import supply

        supply.evaluate_supply(Account.objects.select_for_update().get(pk=acc.pk))
    poll_once([meter])
    vm = sim.vm(meter)
    assert vm.relay_open
    return acc, meter, vm


class SupplyFollowsPaymentTestCase:
    def test_a_refused_restore_is_retried_shown_and_told_to_the_clerks(self, client, world, make_sim, clock):
        world.clerk.email = "clerk@a1.example.cn"
        world.clerk.save()
        acc, meter, vm = cut_off(world, make_sim)
        vm.refusing = True
        credited(acc, "50.00", "pay-1")
        close = MeterCommand.objects.get(meter=meter, kind=CommandKind.CLOSE)
        poll_once([meter])
        close.refresh_from_db()
        assert close.status == CommandStatus.QUEUED and "meter_suspended" in close.error
        client.force_login(world.cashier)
        page = client.get(reverse("counter:account", args=[acc.pk])).content.decode()
        assert "Supply restore failed: meter " in page
        assert "refused: meter_suspended, retrying at 2026-06-12 15:30 (attempt 2 of 10)." in page
        clock.shift(timedelta(minutes=10))
        assert jobs.tick("t")["restores_overdue"] == 1  # still retrying, and the clerks know
        told = Notification.objects.get(key="restore_overdue")
        assert told.user == world.clerk and told.account == acc and "the customer has paid" in told.body
        vm.refusing = False  # the meter takes commands again
        poll_once([meter])
        close.refresh_from_db()
        assert close.status == CommandStatus.CONFIRMED and not vm.relay_open
        page = client.get(reverse("counter:account", args=[acc.pk])).content.decode()
        assert 'id="command-problems"' not in page

    def test_an_offline_meter_is_told_about_even_before_any_answer(self, world, make_sim, clock):
        acc, meter, vm = cut_off(world, make_sim)
        vm.silent = True
        credited(acc, "50.00", "pay-1")
        poll_once([meter], timeout=0.2, retries=0)
        clock.shift(timedelta(minutes=9))
        assert jobs.tick("t")["restores_overdue"] == 0
        clock.shift(timedelta(minutes=1))
        assert jobs.tick("t")["restores_overdue"] == 1
        assert Notification.objects.filter(key="restore_overdue", account=acc).count() == 1
