"""Writes of the analysis app (all audited): marking a case as checked.

The daily run itself (``prepay.analytics.run``) is system computation — scores and cases derived
from readings, replaced on a re-run — and records an :class:`AnalysisRun` row instead of audit events.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prepay.analytics.access import CHECK
from prepay.analytics.choices import CaseStatus, Outcome
from prepay.analytics.models import Case
from prepay.audit.actions import record_event, snapshot
from prepay.common.actions import locked
from prepay.common.errors import ActionError
from prepay.tenancy.scoping import require_any

NOTE_MAX = 1000


@transaction.atomic
def do_check_case(*, case: Case, outcome: str, note: str, actor: Any) -> Case:
    """Record what a check of ``case`` found (audited ``analytics.case.check``).

    Refused, changing nothing: without ``account.lifecycle`` or ``meter.stock`` on the case's site
    (``forbidden``); a case already checked (``already_checked``); an outcome that is not one of
    :class:`Outcome` (``invalid_outcome``); an empty note (``note_required``) or one longer than
    :data:`NOTE_MAX` characters (``note_too_long``). A false alarm or a confirmed vacancy lowers the
    account's score for the site's ``false_alarm_days`` from the next analysis on.
    """
    case = locked(Case, case.pk, "site")
    require_any(actor, CHECK, group_id=case.site.group_id, site_id=case.site_id)
    if case.status == CaseStatus.CHECKED:
        when = timezone.localtime(case.checked_at).strftime("%Y-%m-%d %H:%M") if case.checked_at else ""
        raise ActionError("already_checked", _("This case was already checked on %(when)s.") % {"when": when})
    if outcome not in Outcome.values:
        raise ActionError("invalid_outcome", _("Choose what the check found."))
    note = (note or "").strip()
    if not note:
        raise ActionError("note_required", _("Write down what the check found: a note is required."))
    if len(note) > NOTE_MAX:
        raise ActionError(
            "note_too_long", _("The note is too long (at most %(n)s characters).") % {"n": NOTE_MAX}
        )
    before = snapshot(case, ["status", "outcome", "note"])
    case.status, case.outcome, case.note = CaseStatus.CHECKED, outcome, note
    case.checked_by, case.checked_at = actor, timezone.now()
    case.save(update_fields=["status", "outcome", "note", "checked_by", "checked_at"])
    record_event(
        actor=actor,
        verb="analytics.case.check",
        obj=case,
        group_id=case.site.group_id,
        site_id=case.site_id,
        before=before,
        after={"status": case.status, "outcome": outcome, "note": note, "account": case.account.number},
    )
    return case
