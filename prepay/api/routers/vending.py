"""Selling: vends, receipts, re-print, token re-issue and agent floats (scopes ``vend``, ``read``,
``float``).

``POST /vends`` requires an ``Idempotency-Key`` header: a repeat with the same key and body answers
the first vend with the same status (201) and moves no money (``Idempotent-Replayed: true``); the
same key with another body is refused with 409 ``idempotency_conflict``. Keys are namespaced per
caller, so two integrations choosing the same key never see each other's vends.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Header, Router, Schema, Status

from prepay.api.auth import Caller
from prepay.api.common import caller, dec, idempotency_key, visible
from prepay.api.routers.accounts import Error, account_to_sell
from prepay.api.types import DecimalString
from prepay.common.errors import ActionError, PermissionDenied
from prepay.common.fields import as_stored
from prepay.tenancy.scoping import can
from prepay.vending.actions import (
    current_shift,
    do_reissue_token,
    do_reprint_receipt,
    do_topup_float,
    do_vend,
)
from prepay.vending.models import AgentFloatEntry, Delivery, LedgerEntry, Receipt, Vend, VendingPoint

router = Router(tags=["vending"])


class VendIn(Schema):
    account_id: int | None = None
    account_number: str | None = None
    amount: DecimalString | None = None
    energy: DecimalString | None = None
    method: str = "cash"
    reference: str = ""
    point_id: int | None = None


class TokenOut(Schema):
    token: str
    display: str
    tid: int | None
    amount: str | None


class CardOut(Schema):
    sequence: int
    units: str
    image: str


class CommandOut(Schema):
    id: int
    status: str


class ReceiptOut(Schema):
    code: str
    number: int
    point: str
    issued_at: str
    issued_by: str | None
    prints: int
    vend_id: int | None
    reversal_id: int | None
    links: dict[str, str]


class VendOut(Schema):
    id: int
    receipt_no: str
    account: str
    meter: str | None
    point: str | None
    method: str
    reference: str
    amount: str
    arrears_recovered: str
    credit_amount: str
    energy: str | None
    register_units: str | None
    multiplier: int
    delivery: str
    status: str
    balance_after: str | None
    breakdown: dict[str, Any]
    tokens: list[TokenOut]
    card: CardOut | None
    remote_command: CommandOut | None
    created_at: str
    created_by: str | None


class FloatEntryOut(Schema):
    seq: int
    amount: str
    balance_after: str
    memo: str
    created_at: str


class FloatOut(Schema):
    point: str
    balance: str
    credit_limit: str
    available: str
    entries: list[FloatEntryOut]


class TopupIn(Schema):
    amount: DecimalString


def grouped(token: str) -> str:
    return " ".join(token[i : i + 4] for i in range(0, len(token), 4))


def receipt_links(receipt: Receipt) -> dict[str, str]:
    """Links to the receipt's print / PDF / ESC-POS views when the receipts app provides them."""
    from django.urls import NoReverseMatch, reverse

    links: dict[str, str] = {}
    for name, view in (("verify", "verify"), ("print", "print"), ("pdf", "pdf"), ("escpos", "escpos")):
        try:
            links[name] = reverse(f"receipts:{view}", args=[receipt.code])
        except NoReverseMatch:
            continue
    return links


def receipt_out(receipt: Receipt) -> dict[str, Any]:
    return {
        "code": receipt.code,
        "number": receipt.number,
        "point": receipt.point.code,
        "issued_at": receipt.issued_at.isoformat(),
        "issued_by": receipt.issued_by.get_username() if receipt.issued_by else None,
        "prints": receipt.prints,
        "vend_id": receipt.vend_id,
        "reversal_id": receipt.reversal_id,
        "links": receipt_links(receipt),
    }


def vend_out(vend: Vend) -> dict[str, Any]:
    """The vend as the API answers it; a vend ``do_vend`` has just written is answered from what it
    wrote (as stored: ``as_stored``), the same answer a later read or a replay gives."""
    from prepay.telemetry.models import MeterCommand

    key = vend.idempotency_key or ""
    last = vend.balance_after
    if last is None:
        last = (
            LedgerEntry.objects.filter(idempotency_key__in=[f"{key}:pay", f"{key}:vend"])
            .order_by("-seq")
            .values_list("balance_after", flat=True)
            .first()
        )
    # only what the vend's delivery can have is looked up
    card = getattr(vend, "card", None) if vend.delivery == Delivery.CARD else None
    if card is not None:
        card = as_stored(card)  # written by this sale, it reads back as stored
    cmd = None
    if vend.delivery == Delivery.REMOTE:
        cmd = MeterCommand.objects.filter(idempotency_key=f"vend:{vend.pk}").values("id", "status").first()
    tokens: Any = []
    if vend.delivery == Delivery.TOKEN:
        fresh = vend.issued_tokens
        tokens = [as_stored(t) for t in fresh] if fresh is not None else vend.tokens.order_by("pk")
    return {
        "id": vend.pk,
        "receipt_no": vend.receipt_no,
        "account": vend.account.number,
        "meter": vend.meter.serial if vend.meter_id else None,  # type: ignore[union-attr]
        "point": vend.point.code if vend.point_id else None,  # type: ignore[union-attr]
        "method": vend.method,
        "reference": vend.reference,
        "amount": str(vend.amount),
        "arrears_recovered": str(vend.arrears_recovered),
        "credit_amount": str(vend.credit_amount),
        "energy": dec(vend.energy),
        "register_units": dec(vend.register_units),
        "multiplier": vend.multiplier,
        "delivery": vend.delivery,
        "status": vend.status,
        "balance_after": dec(last),
        "breakdown": vend.breakdown,
        "tokens": [
            {"token": t.token, "display": grouped(t.token), "tid": t.tid, "amount": dec(t.amount)}
            for t in tokens
        ],
        "card": {"sequence": card.sequence, "units": str(card.units), "image": card.image} if card else None,
        "remote_command": cmd,
        "created_at": vend.created_at.isoformat(),
        "created_by": vend.created_by.get_username() if vend.created_by else None,
    }


def selling_point(who: Caller, point_id: int | None) -> VendingPoint:
    """Where the caller sells: an API client's own point; a user's chosen point or open shift's."""
    if who.client is not None:
        point = who.client.point
        if point is None:
            raise ActionError("no_point", _("This API client has no vending point to sell as."))
        if point_id is not None and point_id != point.pk:
            raise PermissionDenied("forbidden", _("This API client sells only as %(p)s.") % {"p": point.code})
        return point
    if point_id is not None:
        return visible(VendingPoint, who, pk=point_id)
    shift = current_shift(who.user)
    if shift is None:
        raise ActionError("no_open_shift", _("Open a shift before selling."))
    return shift.point


@router.post(
    "/vends",
    response={201: VendOut, 400: Error, 403: Error, 404: Error, 409: Error},
    summary="Sell credit (needs Idempotency-Key)",
)
def create_vend(
    request: HttpRequest,
    response: HttpResponse,
    body: VendIn,
    idempotency: str | None = Header(None, alias="Idempotency-Key"),  # type: ignore[assignment]  # noqa: B008
) -> Status[dict[str, Any]]:
    """Sell ``amount`` (money) or ``energy`` to the account; deliver as the meter takes it."""
    who = caller(request, "vend")
    key = idempotency_key(request, who)
    assert key is not None
    account = account_to_sell(request, "vend", body.account_id, body.account_number)
    point = selling_point(who, body.point_id)
    vend = do_vend(
        account=account,
        actor=who.user,
        point=point,
        idempotency_key=key,
        amount=body.amount,
        energy=body.energy,
        method=body.method,
        reference=body.reference,
        channel=who.client.name if who.client is not None else "web",
    )
    # the action compares account, point, amounts and method; the payment reference is ours to check
    if vend.reference != (body.reference or "").strip()[:80]:
        raise ActionError(
            "idempotency_conflict", _("This idempotency key was already used for a different request.")
        )
    if vend.replayed:
        response["Idempotent-Replayed"] = "true"
        return Status(
            201,
            vend_out(Vend.objects.select_related("account", "meter", "point", "created_by").get(pk=vend.pk)),
        )
    # answered from the rows just written, as stored: byte-identical to a replay's answer
    return Status(201, vend_out(as_stored(vend)))


@router.get("/vends/{vend_id}", response={200: VendOut, 404: Error}, summary="A vend")
def get_vend(request: HttpRequest, vend_id: int) -> dict[str, Any]:
    return vend_out(visible(Vend, caller(request, "read"), pk=vend_id))


@router.post(
    "/vends/{vend_id}/reissue",
    response={200: list[TokenOut], 400: Error, 403: Error, 404: Error},
    summary="Re-issue a lost token (same digits, same TID)",
)
def reissue(request: HttpRequest, vend_id: int) -> list[dict[str, Any]]:
    who = caller(request, "vend")
    vend = visible(Vend, who, pk=vend_id)
    tokens = do_reissue_token(vend=vend, actor=who.user)
    return [
        {"token": t.token, "display": grouped(t.token), "tid": t.tid, "amount": dec(t.amount)} for t in tokens
    ]


@router.get("/receipts/{code}", response={200: ReceiptOut, 404: Error}, summary="A receipt")
def get_receipt(request: HttpRequest, code: str) -> dict[str, Any]:
    return receipt_out(visible(Receipt, caller(request, "read"), code=code))


@router.post(
    "/receipts/{code}/reprint",
    response={200: ReceiptOut, 403: Error, 404: Error},
    summary="Re-print a receipt (counted, audited)",
)
def reprint(request: HttpRequest, code: str) -> dict[str, Any]:
    who = caller(request, "vend")
    receipt = do_reprint_receipt(receipt=visible(Receipt, who, code=code), actor=who.user)
    return receipt_out(receipt)


def float_out(point: VendingPoint) -> dict[str, Any]:
    entries = list(AgentFloatEntry.objects.filter(point=point).order_by("-seq")[:20])
    balance = entries[0].balance_after if entries else Decimal("0.00")
    return {
        "point": point.code,
        "balance": str(balance),
        "credit_limit": str(point.credit_limit),
        "available": str(balance + point.credit_limit),
        "entries": [
            {
                "seq": e.seq,
                "amount": str(e.amount),
                "balance_after": str(e.balance_after),
                "memo": e.memo,
                "created_at": e.created_at.isoformat(),
            }
            for e in entries
        ],
    }


@router.get("/points/{point_id}/float", response={200: FloatOut, 404: Error}, summary="Agent float balance")
def get_float(request: HttpRequest, point_id: int) -> dict[str, Any]:
    who = caller(request, "read")
    point = visible(VendingPoint, who, pk=point_id)
    own = who.client is None or who.client.point_id in (None, point.pk)
    if not own and not can(who.user, "reports.view", group_id=point.site.group_id, site_id=point.site_id):
        raise PermissionDenied("forbidden", _("This API client sees only its own vending point."))
    return float_out(point)


@router.post(
    "/points/{point_id}/float/topups",
    response={201: FloatOut, 400: Error, 403: Error, 404: Error, 409: Error},
    summary="Top up an agent's float (needs Idempotency-Key)",
)
def topup_float(
    request: HttpRequest,
    point_id: int,
    body: TopupIn,
    idempotency: str | None = Header(None, alias="Idempotency-Key"),  # type: ignore[assignment]  # noqa: B008
) -> Status[dict[str, Any]]:
    who = caller(request, "float")
    key = idempotency_key(request, who)
    assert key is not None
    point = visible(VendingPoint, who, pk=point_id)
    do_topup_float(point=point, amount=body.amount, actor=who.user, idempotency_key=key)
    point.refresh_from_db()
    return Status(201, float_out(point))
