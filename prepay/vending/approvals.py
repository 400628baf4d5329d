"""Four eyes: the bookkeeping shared by every request one user makes and another decides
(reversals, refunds, adjustments)."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from prepay.api.identity import require_different_people
from prepay.common.actions import locked
from prepay.common.errors import ActionError
from prepay.customers.models import Account
from prepay.tenancy.scoping import require
from prepay.vending.models import ApprovalStatus

R = TypeVar("R", bound=models.Model)


def lock_for_decision(model: type[R], pk: Any, account_id: int, actor: Any) -> tuple[R, Account]:
    """Lock the account, then the request; the actor must hold ``reversal.approve`` on the account's
    site, the request must still await a decision, and nobody decides their own request: not
    directly, and not through an API client they created (``same_person``, prepay/api/identity.py)."""
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
    require_different_people(request.requested_by, actor)  # type: ignore[attr-defined]
    return request, account


def record_decision(request: models.Model, actor: Any, status: str, note: str) -> None:
    request.status = status  # type: ignore[attr-defined]
    request.decided_by = actor  # type: ignore[attr-defined]
    request.decided_at = timezone.now()  # type: ignore[attr-defined]
    request.decision_note = (note or "").strip()[:200]  # type: ignore[attr-defined]
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
