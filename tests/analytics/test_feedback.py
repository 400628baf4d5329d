"""A checked false alarm lowers the account's score for a while; other outcomes do not; a checked
case stays checked when its day is analysed again."""

from __future__ import annotations

from datetime import timedelta

from prepay.analytics.actions import do_check_case
from prepay.analytics.models import Case, Score
from prepay.analytics.run import analyse_site
from tests.analytics import fleet as sim


class FeedbackTestCase:
    def test_a_false_alarm_lowers_the_score_and_says_so(self, world, clock):
        f = sim.build(world, analyse_days=1)
        day0 = sim.DAY - timedelta(days=1)
        analyse_site(f.site, day0)
        tamper = Case.objects.get(account=f.account("tamper"))
        divert = Case.objects.get(account=f.account("divert"))
        clock.move_to(sim.at(1, 18))
        do_check_case(
            case=tamper, outcome="false_alarm", note="Cover opened by our fitter.", actor=world.clerk
        )
        do_check_case(case=divert, outcome="theft", note="Cable round the meter.", actor=world.clerk)
        analyse_site(f.site, sim.DAY)
        score = Score.objects.get(account=f.account("tamper"), day=sim.DAY)
        assert score.score == round(score.raw_score / 2) and score.reasons[-1]["code"] == "false_alarm"
        assert score.reasons[-1]["params"] == {"on": "2026-06-10", "percent": "50", "until": "2026-07-10"}
        assert not Case.objects.filter(account=f.account("tamper"), status="open").exists()
        # theft confirmed: the account is flagged again while it goes on
        assert Case.objects.filter(account=f.account("divert"), status="open", opened_on=sim.DAY).exists()
        analyse_site(f.site, day0)
        assert Case.objects.get(pk=tamper.pk).status == "checked"
        assert Case.objects.filter(account=f.account("divert")).count() == 2
