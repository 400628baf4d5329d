"""The billing daemon runs the analysis once a day per site (``prepay.analytics.jobs.run_due``)."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from prepay.analytics.jobs import run_due
from prepay.analytics.models import AnalysisRun
from prepay.billing import jobs


class DailyJobTestCase:
    def test_it_analyses_yesterday_once_per_site(self, world, clock):
        assert run_due() == 3
        assert set(AnalysisRun.objects.values_list("day", "status")) == {(date(2026, 6, 11), "done")}
        assert run_due() == 0

    def test_it_runs_from_the_billing_daemons_pass(self, world, clock):
        assert jobs.tick("test")["analysed"] == 3
        assert jobs.tick("test")["analysed"] == 0

    def test_it_takes_over_a_run_left_running_and_retries_a_failure_later(self, world, clock):
        run_due()
        AnalysisRun.objects.filter(site=world.a1.site).update(
            status="running", started_at=timezone.now() - timedelta(hours=1)
        )
        AnalysisRun.objects.filter(site=world.a2.site).update(status="failed", finished_at=timezone.now())
        assert run_due() == 1
        clock.shift(timedelta(hours=2))
        assert run_due() == 1
