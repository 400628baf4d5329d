"""Reversals (冲正) and refunds (退费): requested by one user, decided by another, never by deletion.

Approving a vend's reversal writes new ledger entries — the vend undone (revenue and VAT back) and
the money paid back — so the account returns to where it stood before the sale (arrears included).
How the credit is taken back depends on how it went out:

* STS token entered into the meter: a clear-credit management token is issued with the reversal;
* token not entered: the token is void (the customer hands back the receipt), nothing to issue;
* IC card / remote credit: a remote command still queued is cancelled; a card or command already
  loaded counts as "entered" and gets the clear-credit token where the meter takes tokens, otherwise
  the reversal is refused (the credit is in the meter);
* remote fee control balance: refused when the balance no longer holds the money.

A refund pays out (part of) a positive balance, e.g. to a customer leaving.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prepay.audit.actions import record_event
from prepay.common.actions import locked
from prepay.common.amounts import parse_amount
from prepay.common.errors import ActionError
from prepay.customers.models import Account
from prepay.meters.choices import TokenSystem
from prepay.tenancy.scoping import require
from prepay.vending import ledger
from prepay.vending.approvals import lock_for_decision, record_decision
from prepay.vending.models import (
    Delivery,
    EntryKind,
    PaymentMethod,
    Reversal,
    ReversalKind,
    ReversalStatus,
    Vend,
    VendStatus,
)


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ActionError("reason_required", _("Say why."))
    return reason[:200]


def _existing(idempotency_key: str | None, **match: Any) -> Reversal | None:
    if not idempotency_key:
        return None
    found = Reversal.objects.filter(idempotency_key=idempotency_key).first()
    if found is not None and any(getattr(found, k) != v for k, v in match.items()):
        raise ActionError(
            "idempotency_conflict", _("This idempotency key was already used for a different request.")
        )
    return found


def _audit(actor: Any, verb: str, r: Reversal, **extra: Any) -> None:
    site = r.account.site
    record_event(
        actor=actor,
        verb=verb,
        obj=r,
        group_id=site.group_id,
        site_id=site.pk,
        after={
            "kind": r.kind,
            "account": r.account.number,
            "vend": r.vend.receipt_no if r.vend else None,
            "amount": str(r.amount),
            "status": r.status,
            "reason": r.reason,
        }
        | extra,
    )


@transaction.atomic
def do_request_reversal(
    *, vend: Vend, actor: Any, reason: str, token_entered: bool, idempotency_key: str | None = None
) -> Reversal:
    """Ask for ``vend`` to be reversed; ``token_entered`` says whether the credit reached the meter."""
    if (found := _existing(idempotency_key, vend_id=vend.pk)) is not None:
        return found
    account = locked(Account, vend.account_id)
    vend = locked(Vend, vend.pk)
    site = account.site
    require(actor, "reversal.request", group_id=site.group_id, site_id=site.pk)
    reason = _reason(reason)
    if vend.status != VendStatus.COMPLETED:
        raise ActionError(
            "not_reversible",
            _("Vend %(r)s is %(s)s.") % {"r": vend.receipt_no, "s": vend.get_status_display()},
        )
    if not isinstance(token_entered, bool):
        raise ActionError("token_entered_required", _("Say whether the token was entered into the meter."))
    r = Reversal(
        kind=ReversalKind.REVERSAL,
        account=account,
        vend=vend,
        amount=vend.amount,
        method=vend.method,
        reason=reason,
        token_entered=token_entered,
        requested_by=actor,
        point=vend.point,
        idempotency_key=idempotency_key or None,
    )
    try:
        with transaction.atomic():
            r.save()
    except IntegrityError:
        raise ActionError("already_requested", _("A reversal of this vend is already on its way.")) from None
    vend.status = VendStatus.PENDING_APPROVAL
    vend.save(update_fields=["status"])
    _audit(actor, "reversal.request", r, token_entered=token_entered)
    return r


@transaction.atomic
def do_request_refund(
    *,
    account: Account,
    amount: Any,
    actor: Any,
    reason: str,
    method: str = PaymentMethod.CASH,
    idempotency_key: str | None = None,
) -> Reversal:
    """Ask to pay ``amount`` of the account's positive balance back to the customer."""
    value = parse_amount(amount, _("The amount"), places=2)
    if (found := _existing(idempotency_key, account_id=account.pk, amount=value)) is not None:
        return found
    account = locked(Account, account.pk)
    site = account.site
    require(actor, "reversal.request", group_id=site.group_id, site_id=site.pk)
    reason = _reason(reason)
    if method not in PaymentMethod.values:
        raise ActionError("invalid_method", _("Unknown payment method %(m)s.") % {"m": method})
    balance = ledger.balance_of(account)
    if value > balance:
        raise ActionError(
            "exceeds_balance",
            _("The balance is %(b)s; %(a)s cannot be refunded.") % {"b": balance, "a": value},
        )
    r = Reversal.objects.create(
        kind=ReversalKind.REFUND,
        account=account,
        amount=value,
        method=method,
        reason=reason,
        requested_by=actor,
        idempotency_key=idempotency_key or None,
    )
    _audit(actor, "refund.request", r)
    return r


def _decide(reversal: Reversal, actor: Any) -> tuple[Reversal, Account]:
    return lock_for_decision(Reversal, reversal.pk, reversal.account_id, actor)


@transaction.atomic
def do_approve_reversal(*, reversal: Reversal, actor: Any, note: str = "") -> Reversal:
    """Approve: post the reversing entries, take the credit back as described above, pay out."""
    reversal, account = _decide(reversal, actor)
    extra: dict[str, Any] = {}
    if reversal.kind == ReversalKind.REVERSAL:
        extra = _reverse_vend(reversal, account, actor)
    else:
        balance = ledger.balance_of(account)
        if reversal.amount > balance:
            raise ActionError(
                "exceeds_balance",
                _("The balance is now %(b)s; %(a)s cannot be refunded.")
                % {"b": balance, "a": reversal.amount},
            )
        ledger.post(
            account,
            EntryKind.REFUND,
            -reversal.amount,
            actor=actor,
            method=reversal.method,
            idempotency_key=f"refund:{reversal.pk}",
            memo=_("Refund: %(r)s") % {"r": reversal.reason},
        )
    record_decision(reversal, actor, ReversalStatus.APPROVED, note)
    if reversal.point_id is not None:
        from prepay.common.actions import locked as lock
        from prepay.vending.actions import _next_receipt
        from prepay.vending.models import VendingPoint

        _next_receipt(lock(VendingPoint, reversal.point_id), actor, reversal=reversal)
    _audit(actor, f"{reversal.kind}.approve", reversal, **extra)
    return reversal


def _reverse_vend(reversal: Reversal, account: Account, actor: Any) -> dict[str, Any]:
    vend = locked(Vend, reversal.vend_id)
    meter = vend.meter
    entered = bool(reversal.token_entered)
    extra: dict[str, Any] = {"token_entered": entered}
    if vend.delivery == Delivery.REMOTE and meter is not None:
        from prepay.telemetry.models import CommandStatus, MeterCommand

        cmd = MeterCommand.objects.select_for_update().filter(idempotency_key=f"vend:{vend.pk}").first()
        if cmd is not None and cmd.status in (CommandStatus.QUEUED, CommandStatus.FAILED):
            cmd.status = CommandStatus.CANCELLED
            cmd.completed_at = timezone.now()
            cmd.save(update_fields=["status", "completed_at"])
            entered = False
        else:
            entered = True
        extra["remote_command"] = "cancelled" if not entered else "already_loaded"
    if vend.delivery == Delivery.BALANCE:
        balance = ledger.balance_of(account)
        if balance < vend.credit_amount:
            raise ActionError(
                "balance_spent",
                _("The balance (%(b)s) no longer holds the %(a)s of this vend.")
                % {"b": balance, "a": vend.credit_amount},
            )
    elif entered:
        if meter is None or meter.model.token_system != TokenSystem.STS:
            raise ActionError(
                "credit_in_meter",
                _("The credit is already in meter %(m)s and this meter takes no clear-credit token.")
                % {"m": meter.serial if meter else "-"},
            )
        from prepay.tokens.actions import do_issue_management_token

        token = do_issue_management_token(
            meter=meter,
            kind="clear_credit",
            value=0,
            actor=actor,
            reason=f"reversal of {vend.receipt_no}",
            capability="reversal.approve",
        )
        extra["clear_credit_token"] = token.token
        reversal.clear_token = token
        reversal.save(update_fields=["clear_token"])
    total = Decimal(vend.breakdown.get("total", "0")) if vend.delivery != Delivery.BALANCE else Decimal(0)
    if total:
        ledger.post(
            account,
            EntryKind.REVERSAL,
            total,
            actor=actor,
            energy=-(vend.energy or Decimal(0)),
            tax=Decimal(vend.breakdown.get("vat_amount", "0")),
            idempotency_key=f"reversal:{reversal.pk}:vend",
            memo=_("Reversal of %(r)s") % {"r": vend.receipt_no},
        )
    ledger.post(
        account,
        EntryKind.REFUND,
        -vend.amount,
        actor=actor,
        book=ledger.AGENT_FLOAT if vend.point and vend.point.uses_float else ledger.CASH,
        point=vend.point,
        method=vend.method,
        idempotency_key=f"reversal:{reversal.pk}:pay",
        memo=_("Money of %(r)s paid back") % {"r": vend.receipt_no},
    )
    if vend.point is not None and vend.point.uses_float:
        from prepay.vending.actions import _post_float

        _post_float(
            vend.point,
            vend.amount,
            actor=actor,
            memo=_("Reversal of %(r)s") % {"r": vend.receipt_no},
            vend=vend,
        )
    vend.status = VendStatus.REVERSED
    vend.save(update_fields=["status"])
    return extra


@transaction.atomic
def do_reject_reversal(*, reversal: Reversal, actor: Any, note: str) -> Reversal:
    """Reject: nothing moves; the vend is completed again."""
    reversal, _account = _decide(reversal, actor)
    record_decision(reversal, actor, ReversalStatus.REJECTED, _reason(note))
    if reversal.vend_id:
        Vend.objects.filter(pk=reversal.vend_id).update(status=VendStatus.COMPLETED)
    _audit(actor, f"{reversal.kind}.reject", reversal, note=reversal.decision_note)
    return reversal
