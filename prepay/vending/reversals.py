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

Who pays the money back (:class:`Settlement`), decided when the reversal is approved, under the lock
of the vend's shift (``do_close_shift`` takes the same lock, so a cash-up and an approval never cross):

* **void** — the vend was taken in a counter shift that is still open: the cashier hands the money
  back across the counter, the shift's expected money drops by it (``shifts.shift_summary``). Its
  cash line in the journal names the vending point, like the sale's.
* **refund by finance** — the shift is closed (or the sale had none: an online channel): finance pays
  the money back; the cash line names no vending point, so the closed cash-up is untouched and the
  pay-out shows in finance's reports (the reversals and refunds report, the reconciliation sheet).
* **agent float** — a partner agent's sale: the agent's float is credited back.

A refund (``do_request_refund``) pays out (part of) a positive balance, e.g. to a customer leaving; it is
always paid by finance. :func:`settlement_of` and :func:`with_settlement` read the settlement back from
the journal.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Case, CharField, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

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
    JournalLine,
    PaymentMethod,
    Reversal,
    ReversalKind,
    ReversalStatus,
    Shift,
    ShiftStatus,
    Vend,
    VendingPoint,
    VendStatus,
)
from prepay.vending.points import next_receipt, post_float


class Settlement(models.TextChoices):
    """How the money of an approved reversal or refund went back (see the module docstring)."""

    VOID = "void", gettext_lazy("Void: paid back at the counter")
    FINANCE = "finance", gettext_lazy("Refund paid by finance")
    AGENT_FLOAT = "agent_float", gettext_lazy("Back to the agent's float")


#: the books a pay-out's money leaves by: a drawer or finance's cash (``cash``), an agent's float
_PAY_BOOKS = (ledger.CASH, ledger.AGENT_FLOAT)


def pay_key(reversal: Reversal) -> str:
    """The idempotency key of the ledger entry that paid ``reversal``'s money back."""
    return f"refund:{reversal.pk}" if reversal.kind == ReversalKind.REFUND else f"reversal:{reversal.pk}:pay"


def _settlement(book: str | None, point_id: int | None) -> str:
    """The settlement a pay-out's journal line shows ("" when there is none: not approved)."""
    if book == ledger.AGENT_FLOAT:
        return Settlement.AGENT_FLOAT
    if book == ledger.CASH:
        return Settlement.VOID if point_id is not None else Settlement.FINANCE
    return ""


def settlement_of(reversal: Reversal) -> str:
    """:class:`Settlement` value of an approved reversal or refund, read from its journal; "" before
    approval (or when rejected)."""
    line = (
        JournalLine.objects.filter(entry__idempotency_key=pay_key(reversal), book__in=_PAY_BOOKS)
        .values_list("book", "point_id")
        .first()
    )
    return _settlement(*line) if line else ""


def with_settlement(reversals: QuerySet[Reversal]) -> QuerySet[Reversal]:
    """``reversals`` annotated with ``pay_book`` and ``pay_point`` (the pay-out's journal line: book and
    vending point id, None before approval); :func:`settlement_from_row` turns them into a
    :class:`Settlement` value. Filter voids with ``pay_book="cash", pay_point__isnull=False``."""
    key = Case(
        When(kind=ReversalKind.REFUND, then=Concat(Value("refund:"), Cast("pk", CharField()))),
        default=Concat(Value("reversal:"), Cast("pk", CharField()), Value(":pay")),
        output_field=CharField(),
    )
    lines = JournalLine.objects.filter(entry__idempotency_key=OuterRef("pay_key"), book__in=_PAY_BOOKS)
    return reversals.annotate(
        pay_key=key,
        pay_book=Subquery(lines.values("book")[:1]),
        pay_point=Subquery(lines.values("point_id")[:1]),
    )


def settlement_from_row(row: Any) -> str:
    """The settlement of a row of :func:`with_settlement` (a model instance or a ``values()`` dict)."""
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k, None)
    return _settlement(get("pay_book"), get("pay_point"))


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
        extra = {"settlement": Settlement.FINANCE.value}
    record_decision(reversal, actor, ReversalStatus.APPROVED, note)
    if reversal.point_id is not None:
        next_receipt(locked(VendingPoint, reversal.point_id), actor, reversal=reversal)
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
    extra["settlement"] = _pay_back(reversal, vend, account, actor).value
    vend.status = VendStatus.REVERSED
    vend.save(update_fields=["status"])
    return extra


def _pay_back(reversal: Reversal, vend: Vend, account: Account, actor: Any) -> Settlement:
    """Post the refund of ``vend``'s money as its settlement says (void, finance, agent float)."""
    settlement = _settle(vend)
    memo = {
        Settlement.VOID: _("Void of %(r)s: money paid back at the counter"),
        Settlement.FINANCE: _("Refund of %(r)s paid by finance"),
        Settlement.AGENT_FLOAT: _("Money of %(r)s back to the agent's float"),
    }[settlement]
    ledger.post(
        account,
        EntryKind.REFUND,
        -vend.amount,
        actor=actor,
        book=ledger.AGENT_FLOAT if settlement == Settlement.AGENT_FLOAT else ledger.CASH,
        # the point's drawer pays a void (and an agent's float takes its money back); finance pays
        # a refund, so its cash line names no point and no closed cash-up changes
        point=vend.point if settlement != Settlement.FINANCE else None,
        method=vend.method,
        idempotency_key=f"reversal:{reversal.pk}:pay",
        memo=memo % {"r": vend.receipt_no},
    )
    if vend.point is not None and vend.point.uses_float:
        post_float(
            vend.point,
            vend.amount,
            actor=actor,
            memo=_("Reversal of %(r)s") % {"r": vend.receipt_no},
            vend=vend,
        )
    return settlement


def _settle(vend: Vend) -> Settlement:
    """Who pays ``vend``'s money back, decided under the lock of its shift (see the module docstring)."""
    if vend.point is not None and vend.point.uses_float:
        return Settlement.AGENT_FLOAT
    if vend.shift_id is not None and locked(Shift, vend.shift_id).status == ShiftStatus.OPEN:
        return Settlement.VOID
    return Settlement.FINANCE


@transaction.atomic
def do_reject_reversal(*, reversal: Reversal, actor: Any, note: str) -> Reversal:
    """Reject: nothing moves; the vend is completed again."""
    reversal, _account = _decide(reversal, actor)
    record_decision(reversal, actor, ReversalStatus.REJECTED, _reason(note))
    if reversal.vend_id:
        Vend.objects.filter(pk=reversal.vend_id).update(status=VendStatus.COMPLETED)
    _audit(actor, f"{reversal.kind}.reject", reversal, note=reversal.decision_note)
    return reversal
