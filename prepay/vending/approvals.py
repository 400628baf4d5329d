"""Four eyes: the bookkeeping shared by every request one user makes and another decides
(reversals, refunds, adjustments)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from prepay.common.actions import locked
from prepay.common.errors import ActionError
from prepay.customers.models import Account
from prepay.tenancy.scoping import require
from prepay.vending.models import ApprovalStatus

R = TypeVar("R", bound=models.Model)

#: checks that the one who decides is another person than the one who asked, beyond the users
#: themselves (the API app registers ``require_different_people``: a request made through an API
#: client is its creator's); each raises ActionError to refuse
SAME_PERSON_CHECKS: list[Callable[[Any, Any], None]] = []


def register_same_person_check(check: Callable[[Any, Any], None]) -> None:
    """Called from an app's ``ready``: ``check(requested_by, actor)`` refuses a decision by the same person."""
    if check not in SAME_PERSON_CHECKS:
        SAME_PERSON_CHECKS.append(check)


def lock_for_decision(model: type[R], pk: Any, account_id: int, actor: Any) -> tuple[R, Account]:
    """Lock the account, then the request; the actor must hold ``reversal.approve`` on the account's
    site, the request must still await a decision, and nobody decides their own request: not
    directly, and not through an API client they created (:data:`SAME_PERSON_CHECKS`, registered by
    prepay/api/identity.py)."""
    account = locked(Account, account_id)
    request = locked(model, pk)
    site = account.site
    require(actor, "reversal.approve", group_id=site.group_id, site_id=site.pk)
    if request.status != ApprovalStatus.REQUESTED:  # type: ignore[attr-defined]
        raise ActionError(
            "already_decided",
            _("This request was already %(s)s.") % {"s": request.get_status_display()},  # type: ignore[attr-defined]
        )
    if request.requested_by_id == getattr(actor, "pk", None):  # type: ignore[attr-defined]
        raise ActionError("own_request", _("Nobody approves or rejects their own request."))
    for check in SAME_PERSON_CHECKS:  # api.identity: nobody decides through an API client of their own
        check(request.requested_by, actor)  # type: ignore[attr-defined]
    return request, account


def record_decision(request: models.Model, actor: Any, status: str, note: str) -> None:
    request.status = status  # type: ignore[attr-defined]
    request.decided_by = actor  # type: ignore[attr-defined]
    request.decided_at = timezone.now()  # type: ignore[attr-defined]
    request.decision_note = (note or "").strip()[:200]  # type: ignore[attr-defined]
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
