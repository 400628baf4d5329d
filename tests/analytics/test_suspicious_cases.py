"""Each kind of thief (and broken meter, and empty flat) the simulator plays is found by the daily
analysis (``prepay.analytics.run.analyse_site``) and explained in words with its figures; the
ordinary households of the same site are not flagged."""

from __future__ import annotations

import pytest
from django.utils import translation

from prepay.analytics.models import AnalysisRun, Case, Score
from prepay.analytics.reasons import describe
from prepay.analytics.run import analyse_site
from tests.analytics import fleet as sim

#: role → (the reason that must explain it, words that must be in the English sentence)
EXPECTED = {
    "bypass": ("bypass", ["kWh in", "readings while the relay was open or the meter's credit was exhausted"]),
    "divert": ("low_own", ["kWh/day for 9 days", "% below its own median of 7.6 kWh/day"]),
    "tamper": (
        "tamper",
        ["3 tamper events in 30 days", "cover open 1", "magnetic field 2", "2026-06-10 10:00"],
    ),
    "reversed": ("backwards", ["the register ran backwards by"]),
    "reset": ("reset", ["to 0.0 kWh at 2026-06-09 14:00 (a reset"]),
    "jump": ("jump", ["jumped by 150.1 kWh in 60 minutes at 2026-06-09 03:00"]),
    "vacant": ("zero_closed", ["used 0.0 kWh/day for 8 days while the relay was closed"]),
    "offline": ("offline", ["offline for 11 days (last reading 2026-05-31 09:00) and no purchase since"]),
    "token": (
        "token_not_entered",
        ["2 tokens for 160.0 kWh sold 2026-06-05 – 2026-06-07", "rose by only 0.0"],
    ),
    "branch_thief": ("line_loss_main", ["its branch under master meter SIM-master lost 22 % over 7 days"]),
}


@pytest.fixture
def analysed(world, clock):
    fleet = sim.build(world)
    analyse_site(world.a1.site, sim.DAY)
    return fleet


def english(case: Case) -> list[str]:
    with translation.override("en"):
        return [describe(r) for r in case.reasons]


class SuspiciousCasesTestCase:
    def test_it_finds_and_explains_each_kind(self, analysed):
        for role, (code, words) in EXPECTED.items():
            case = Case.objects.filter(account=analysed.account(role)).first()
            assert case is not None, f"{role} was not flagged"
            assert case.score >= 50 and case.opened_on == case.last_day == sim.DAY
            reason = next((r for r in case.reasons if r["code"] == code), None)
            assert reason is not None, f"{role}: no {code} reason in {case.reasons}"
            assert f",{code}," in case.signals
            text = describe(reason)
            for w in words:
                assert w in text, f"{role}: {w!r} not in {text!r}"

    def test_it_words_the_reasons_in_chinese(self, analysed):
        case = Case.objects.get(account=analysed.account("divert"))
        with translation.override("zh-hans"):
            text = describe(case.reasons[0])
        assert "连续 9 天" in text and "7.6 kWh" in text

    def test_it_does_not_flag_ordinary_households(self, analysed):
        flagged = set(Case.objects.values_list("account_id", flat=True))
        honest = [r for r in sim.roles() if r.startswith(("ordinary", "branch")) and r != "branch_thief"]
        honest.append("honest_token")
        assert not flagged & {analysed.account(r).pk for r in honest}
        ordinary = {analysed.account(r).pk for r in honest if not r.startswith("branch")}
        assert not Score.objects.filter(account_id__in=ordinary).exists()

    def test_it_tells_the_neighbours_on_a_losing_branch_without_flagging_them(self, analysed):
        score = Score.objects.get(account=analysed.account("branch0"))
        assert score.score == 10 and [r["code"] for r in score.reasons] == ["line_loss"]

    def test_it_records_the_run(self, analysed):
        run = AnalysisRun.objects.get(site=analysed.site, day=sim.DAY)
        assert (
            run.status == "done" and run.flagged == len(EXPECTED) and run.meters == len(sim.roles())
        )  # the offline meter sent nothing, the master did
