"""Which remote commands need a person (retrying, overdue, failed and not superseded), and where they
show: the banner on the account page and the panel on the dashboard — only to those who may see them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone

from prepay.telemetry import problems
from prepay.telemetry.actions import do_queue_command, finish_command
from prepay.telemetry.models import CommandStatus, MeterCommand
from prepay.telemetry.retry import RetryPolicy
from tests import factories as f

ONCE = RetryPolicy(timedelta(seconds=30), timedelta(seconds=30), max_attempts=1)
TWICE = RetryPolicy(timedelta(seconds=30), timedelta(seconds=30), max_attempts=2)


def failing(
    meter: Any, kind: str, *, policy: RetryPolicy = TWICE, error: str = "timeout: no reply"
) -> MeterCommand:
    cmd = do_queue_command(meter, kind, actor=None, reason="billing:paid")
    return finish_command(cmd, confirmed=False, error=error, policy=policy)


class ProblemsTestCase:
    def test_it_finds_retrying_overdue_and_failed_commands(self, world, clock):
        acc = f.account(world.a1, meter_=f.meter(world.a1))
        meter = acc.installations.get().meter
        retrying = failing(meter, "close")
        failed = failing(meter, "keep_power", policy=ONCE)
        credit = do_queue_command(meter, "credit", actor=None, reason="vend", params={"amount": "5"})
        assert {c.pk for c in problems.problems()} == {retrying.pk, failed.pk}
        clock.shift(timedelta(minutes=10))  # never sent (the poller is down): now overdue
        states = {p.command.pk: p.state for p in problems.for_account(acc)}
        assert states == {retrying.pk: "retrying", failed.pk: "failed", credit.pk: "overdue"}

    def test_it_forgets_a_failure_once_a_later_command_of_its_family_was_queued(self, world, clock):
        meter = f.meter(world.a1)
        trip = failing(meter, "trip", policy=ONCE)
        keep = failing(meter, "keep_power", policy=ONCE)
        later = do_queue_command(meter, "close", actor=None, reason="billing:paid")
        finish_command(later, confirmed=True)
        assert list(problems.problems()) == [keep]  # the close settled the trip, not the 保电
        assert trip.status == CommandStatus.FAILED

    def test_it_describes_a_retry_and_a_give_up_in_english_and_chinese(self, world, clock, settings):
        from django.utils import translation

        meter = f.meter(world.a1)
        cmd = failing(meter, "close")
        p = problems.describe(cmd, TWICE)
        assert p.message == (
            "Supply restore failed: timeout: no reply, retrying at 2026-06-12 15:30 (attempt 2 of 2)."
        )
        cmd = finish_command(cmd, confirmed=False, error="refused: meter_suspended", policy=TWICE)
        with translation.override("zh-hans"):
            text = problems.describe(cmd, TWICE).message
        assert text == "恢复供电失败：refused: meter_suspended，已于2026-06-12 15:30放弃（共尝试2次）。"

    def test_it_shows_an_accounts_problems_as_a_banner_to_staff_who_may_see_it(self, client, world, clock):
        acc = f.account(world.a1, meter_=f.meter(world.a1))
        failing(acc.installations.get().meter, "close")
        url = reverse("counter:account", args=[acc.pk])
        client.force_login(world.cashier)
        page = client.get(url).content.decode()
        assert 'id="command-problems"' in page and "Supply restore failed: timeout: no reply" in page
        assert 'data-testid="command-problem-retrying"' in page
        client.force_login(world.clerk_b)  # another group
        assert client.get(url).status_code == 404

    def test_it_shows_no_banner_when_all_is_well(self, client, world):
        acc = f.account(world.a1, meter_=f.meter(world.a1))
        do_queue_command(acc.installations.get().meter, "close", actor=None, reason="billing:paid")
        client.force_login(world.clerk)
        assert (
            'id="command-problems"'
            not in client.get(reverse("counter:account", args=[acc.pk])).content.decode()
        )

    def test_it_counts_problems_per_site_on_the_dashboard_of_the_users_sites(self, client, world, clock):
        failing(f.meter(world.a1), "close")
        failing(f.meter(world.a1), "trip", policy=ONCE)
        failing(f.meter(world.a2), "close")
        failing(f.meter(world.b1), "close")  # another group
        client.force_login(world.finance)  # group A, every site
        page = client.get(reverse("reports:dashboard"))
        panel = page.context["commands"]
        assert panel["count"] == 3
        assert panel["by_site"] == [{"site": "Site a1", "count": 2}, {"site": "Site a2", "count": 1}]
        assert 'id="panel-commands"' in page.content.decode()
        client.force_login(world.auditor)  # A1 only
        assert client.get(reverse("reports:dashboard")).context["commands"]["count"] == 2

    def test_it_keeps_the_dashboard_from_those_without_reports(self, client, world):
        client.force_login(world.clerk)
        assert client.get(reverse("reports:dashboard")).status_code == 403

    def test_it_leaves_retired_meters_out(self, world, clock):
        meter = f.meter(world.a1)
        failing(meter, "close", policy=ONCE)
        meter.status = "retired"
        meter.save(update_fields=["status"])
        assert not problems.problems().exists()
        assert timezone.now()  # the clock fixture keeps "now" fixed
