"""``do_check_case``: a clerk or admin records what a visit found; audited; refusals change nothing."""

from __future__ import annotations

import pytest
from django.utils import translation

from prepay.analytics.actions import NOTE_MAX, do_check_case
from prepay.analytics.models import Case
from prepay.audit.models import AuditEvent
from tests.helpers import refused


def check(case, actor, outcome="false_alarm", note="Meter seal intact, flat empty since May."):
    return do_check_case(case=case, outcome=outcome, note=note, actor=actor)


class CheckCaseTestCase:
    def test_it_marks_the_case_checked_and_audits_it(self, cases):
        done = check(cases.bypass, cases.world.clerk)
        done.refresh_from_db()
        assert (done.status, done.outcome, done.checked_by) == ("checked", "false_alarm", cases.world.clerk)
        ev = AuditEvent.objects.get(verb="analytics.case.check")
        assert ev.actor == cases.world.clerk and ev.site_id == cases.world.a1.site.pk
        assert ev.after["outcome"] == "false_alarm" and ev.before["status"] == "open"

    def test_it_lets_an_admin_check(self, cases):
        assert (
            check(cases.bypass, cases.world.admin, "theft", "Relay bridged with a wire.").status == "checked"
        )

    @pytest.mark.parametrize(
        ("outcome", "note", "code"),
        [
            ("stolen", "x", "invalid_outcome"),
            ("", "x", "invalid_outcome"),
            ("theft", "   ", "note_required"),
            ("theft", "x" * (NOTE_MAX + 1), "note_too_long"),
        ],
    )
    def test_it_refuses_bad_input(self, cases, outcome, note, code):
        refused(code, do_check_case, case=cases.bypass, outcome=outcome, note=note, actor=cases.world.clerk)
        assert Case.objects.get(pk=cases.bypass.pk).status == "open"

    def test_it_refuses_a_case_checked_before(self, cases):
        err = refused(
            "already_checked",
            do_check_case,
            case=cases.checked,
            outcome="theft",
            note="x",
            actor=cases.world.clerk,
        )
        assert "already checked" in str(err.message)

    @pytest.mark.parametrize("who", ["finance", "auditor", "cashier"])
    def test_it_refuses_roles_that_only_read(self, cases, who):
        refused(
            "forbidden",
            do_check_case,
            case=cases.bypass,
            outcome="theft",
            note="x",
            actor=getattr(cases.world, who),
        )

    @pytest.mark.parametrize("who", ["clerk_a2", "clerk_b"])
    def test_it_refuses_outsiders(self, cases, who):
        refused(
            "forbidden",
            do_check_case,
            case=cases.bypass,
            outcome="theft",
            note="x",
            actor=getattr(cases.world, who),
        )

    def test_it_refuses_in_chinese(self, cases):
        with translation.override("zh-hans"):
            err = refused(
                "note_required",
                do_check_case,
                case=cases.bypass,
                outcome="theft",
                note="",
                actor=cases.world.clerk,
            )
        assert "备注" in str(err.message)
