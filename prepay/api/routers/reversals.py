"""Reversals (冲正) and refunds (退费) through the API: requested with scope ``reversal``, decided
with scope ``approve`` by another user (the actions refuse one's own request).

Requests need an ``Idempotency-Key`` (a retry answers the first request). Deciding is idempotent by
state: repeating the same decision by the same user answers the decided request; the other decision
is refused with 409 ``already_decided``. Only ``approve`` and ``reject`` are decisions:
``POST /reversals/{id}/<any other word>`` is 400 ``unknown_decision`` and changes nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Header, Router, Schema, Status

from prepay.api.common import caller, idempotency_key, normalised, visible
from prepay.api.routers.accounts import Error, account_for
from prepay.common.errors import ActionError
from prepay.vending.actions import (
    do_approve_reversal,
    do_reject_reversal,
    do_request_refund,
    do_request_reversal,
)
from prepay.vending.models import Reversal, ReversalStatus, Vend

router = Router(tags=["reversals"])

IDEM = Header(None, alias="Idempotency-Key")


class ReversalIn(Schema):
    reason: str
    token_entered: bool


class RefundIn(Schema):
    account_id: int | None = None
    account_number: str | None = None
    amount: Decimal
    reason: str
    method: str = "cash"


class DecisionIn(Schema):
    note: str = ""


class ReversalOut(Schema):
    id: int
    kind: str
    account: str
    vend_id: int | None
    amount: str
    method: str
    reason: str
    token_entered: bool | None
    status: str
    requested_by: str
    decided_by: str | None
    decision_note: str
    receipt: str | None


def reversal_out(r: Reversal) -> dict[str, Any]:
    receipt = getattr(r, "receipt", None)
    return {
        "id": r.pk,
        "kind": r.kind,
        "account": r.account.number,
        "vend_id": r.vend_id,
        "amount": str(r.amount),
        "method": r.method,
        "reason": r.reason,
        "token_entered": r.token_entered,
        "status": r.status,
        "requested_by": r.requested_by.get_username(),
        "decided_by": r.decided_by.get_username() if r.decided_by else None,
        "decision_note": r.decision_note,
        "receipt": receipt.code if receipt is not None else None,
    }


@router.post(
    "/vends/{vend_id}/reversal",
    response={201: ReversalOut, 400: Error, 403: Error, 404: Error, 409: Error},
    summary="Request a reversal of a vend (needs Idempotency-Key)",
)
def request_reversal(
    request: HttpRequest,
    vend_id: int,
    body: ReversalIn,
    idempotency: str | None = IDEM,  # type: ignore[assignment]
) -> Status[dict[str, Any]]:
    who = caller(request, "reversal")
    key = idempotency_key(request, who)
    vend = visible(Vend, who, pk=vend_id)
    r = do_request_reversal(
        vend=vend, actor=who.user, reason=body.reason, token_entered=body.token_entered, idempotency_key=key
    )
    return Status(201, reversal_out(r))


@router.post(
    "/refunds",
    response={201: ReversalOut, 400: Error, 403: Error, 404: Error, 409: Error},
    summary="Request a refund of balance (needs Idempotency-Key)",
)
def request_refund(
    request: HttpRequest,
    body: RefundIn,
    idempotency: str | None = IDEM,  # type: ignore[assignment]
) -> Status[dict[str, Any]]:
    who = caller(request, "reversal")
    key = idempotency_key(request, who)
    account = account_for(request, "reversal", body.account_id, body.account_number)
    r = do_request_refund(
        account=account,
        amount=normalised(body.amount, 2),
        actor=who.user,
        reason=body.reason,
        method=body.method,
        idempotency_key=key,
    )
    return Status(201, reversal_out(r))


@router.get(
    "/reversals/{reversal_id}", response={200: ReversalOut, 404: Error}, summary="A reversal or refund"
)
def get_reversal(request: HttpRequest, reversal_id: int) -> dict[str, Any]:
    return reversal_out(visible(Reversal, caller(request, "read"), pk=reversal_id))


def _decide(request: HttpRequest, reversal_id: int, approve: bool, note: str) -> dict[str, Any]:
    who = caller(request, "approve")
    r = visible(Reversal, who, pk=reversal_id)
    wanted = ReversalStatus.APPROVED if approve else ReversalStatus.REJECTED
    if r.status == wanted and r.decided_by_id == who.user.pk:
        return reversal_out(r)  # a retry of the same decision
    if approve:
        r = do_approve_reversal(reversal=r, actor=who.user, note=note)
    else:
        r = do_reject_reversal(reversal=r, actor=who.user, note=note)
    return reversal_out(Reversal.objects.select_related("account").get(pk=r.pk))


@router.post(
    "/reversals/{reversal_id}/approve",
    response={200: ReversalOut, 400: Error, 403: Error, 404: Error, 409: Error},
    summary="Approve a reversal or refund",
)
def approve(request: HttpRequest, reversal_id: int, body: DecisionIn) -> dict[str, Any]:
    return _decide(request, reversal_id, True, body.note)


@router.post(
    "/reversals/{reversal_id}/reject",
    response={200: ReversalOut, 400: Error, 403: Error, 404: Error, 409: Error},
    summary="Reject a reversal or refund",
)
def reject(request: HttpRequest, reversal_id: int, body: DecisionIn) -> dict[str, Any]:
    return _decide(request, reversal_id, False, body.note)


@router.post(
    "/reversals/{reversal_id}/{decision}",
    response={400: Error},
    summary="Any other decision word: refused with 400 unknown_decision (never read as a rejection)",
    include_in_schema=False,
)
def unknown_decision(request: HttpRequest, reversal_id: int, decision: str) -> dict[str, Any]:
    """``approve`` and ``reject`` are the only decisions; any other word is refused before anything is
    looked up or changed (registered after them, so it only sees the words they do not match)."""
    raise ActionError(
        "unknown_decision",
        _("Unknown decision %(word)s: use approve or reject. Nothing was decided.") % {"word": decision[:40]},
    )
