"""``prepay analyse``: the daily run from the command line, idempotent per day."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from prepay.analytics.models import AnalysisRun, Case, DailyUsage, Score
from tests.analytics import fleet as sim


def run(*args: str) -> str:
    out = StringIO()
    call_command("analyse", *args, stdout=out)
    return out.getvalue()


class AnalyseCommandTestCase:
    def test_it_analyses_a_site_day_and_says_what_it_found(self, world, clock):
        sim.build(world, analyse_days=2)
        out = run("--site", "a1", "--date", "2026-06-11", "--days", "2")
        assert "a1 2026-06-11: 28 meters, " in out and "10 flagged" in out
        assert AnalysisRun.objects.filter(site=world.a1.site, status="done").count() == 2
        assert Case.objects.filter(site=world.a1.site).count() >= 10

    def test_it_gives_the_same_result_when_run_again(self, world, clock):
        sim.build(world)
        run("--site", "a1", "--date", "2026-06-11")
        before = (
            list(Score.objects.order_by("account_id").values_list("account_id", "score", "reasons")),
            list(
                Case.objects.order_by("account_id").values_list("account_id", "opened_on", "score", "signals")
            ),
            DailyUsage.objects.count(),
        )
        run("--site", "a1", "--date", "2026-06-11")
        after = (
            list(Score.objects.order_by("account_id").values_list("account_id", "score", "reasons")),
            list(
                Case.objects.order_by("account_id").values_list("account_id", "opened_on", "score", "signals")
            ),
            DailyUsage.objects.count(),
        )
        assert before == after

    def test_it_defaults_to_yesterday_and_every_site(self, world, clock):
        run()
        assert set(AnalysisRun.objects.values_list("day", flat=True)) == {date(2026, 6, 11)}
        assert AnalysisRun.objects.count() == 3

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--date", "11/06/2026"], "Not a date"),
            (["--site", "nowhere"], "No site"),
            (["--days", "0"], "--days"),
        ],
    )
    def test_it_refuses_bad_arguments(self, world, args, message):
        with pytest.raises(CommandError, match=message):
            run(*args)
        assert not AnalysisRun.objects.exists()
