"""Adjustments (调剂电量 / 调账): energy or money given or taken without a sale, with a reason, requested
by a clerk and approved by someone else.

* **Energy** (compensation, e.g. an outage or a faulty reading): loaded onto a local-control meter the
  way it takes credit — an STS token, an IC-card image or a queued remote credit — as register units
  rounded up (more added). Energy cannot be taken out of a meter this way (use a reversal with a
  clear-credit token). No money moves; the adjustment and its token are audited.
* **Money** (correction of a balance): a signed ``adjustment`` ledger entry against the adjustments
  book; a debit is refused when it would leave the balance below zero on a prepaid account.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prepay.audit.actions import record_event
from prepay.common.actions import locked
from prepay.common.amounts import parse_amount
from prepay.common.errors import ActionError
from prepay.customers.choices import AccountStatus
from prepay.customers.models import Account
from prepay.domain.tariffs import register_units
from prepay.meters.models import Meter
from prepay.tenancy.scoping import require
from prepay.vending import ledger
from prepay.vending.approvals import lock_for_decision, record_decision
from prepay.vending.crediting import active_meter, deliver_units, delivery_for
from prepay.vending.models import Adjustment, AdjustmentStatus, Delivery, EntryKind


def _audit(actor: Any, verb: str, adj: Adjustment, **extra: Any) -> None:
    site = adj.account.site
    record_event(
        actor=actor,
        verb=verb,
        obj=adj,
        group_id=site.group_id,
        site_id=site.pk,
        after={
            "account": adj.account.number,
            "energy": str(adj.energy) if adj.energy is not None else None,
            "amount": str(adj.amount) if adj.amount is not None else None,
            "reason": adj.reason,
            "status": adj.status,
        }
        | extra,
    )


@transaction.atomic
def do_request_adjustment(
    *,
    account: Account,
    actor: Any,
    reason: str,
    energy: Any = None,
    amount: Any = None,
    idempotency_key: str | None = None,
) -> Adjustment:
    """Ask for ``energy`` (kWh / m³, positive) or ``amount`` (money, signed) to be adjusted."""
    if idempotency_key and (found := Adjustment.objects.filter(idempotency_key=idempotency_key).first()):
        if found.account_id != account.pk:
            raise ActionError(
                "idempotency_conflict", _("This idempotency key was already used for a different request.")
            )
        return found
    account = locked(Account, account.pk)
    site = account.site
    require(actor, "account.lifecycle", group_id=site.group_id, site_id=site.pk)
    if (energy is None) == (amount is None):
        raise ActionError("amount_or_energy", _("Give either an amount of money or an amount of energy."))
    reason = (reason or "").strip()
    if not reason:
        raise ActionError("reason_required", _("Say why."))
    if account.status != AccountStatus.OPEN:
        raise ActionError("account_closed", _("Account %(a)s is closed.") % {"a": account.number})
    adj = Adjustment(
        account=account, reason=reason[:200], requested_by=actor, idempotency_key=idempotency_key or None
    )
    if energy is not None:
        value = parse_amount(energy, _("The energy"), sign="nonzero", places=3)
        if value < 0:
            raise ActionError(
                "cannot_remove_energy",
                _("Credit cannot be taken out of a meter by an adjustment; reverse the vend instead."),
            )
        meter = active_meter(account)
        delivery = delivery_for(account, meter)
        if delivery == Delivery.BALANCE:
            raise ActionError(
                "energy_not_for_balance",
                _("Remote fee control accounts are adjusted with money; their energy is billed as used."),
            )
        assert meter is not None  # delivery_for refuses accounts without a meter
        adj.energy = value
        adj.register_units = register_units(value, meter.ct_ratio, meter.pt_ratio)
        adj.delivery = delivery
    else:
        adj.amount = parse_amount(amount, _("The amount"), sign="nonzero", places=2)
    adj.save()
    _audit(actor, "adjustment.request", adj)
    return adj


def _decide(adj: Adjustment, actor: Any) -> tuple[Adjustment, Account]:
    return lock_for_decision(Adjustment, adj.pk, adj.account_id, actor)


@transaction.atomic
def do_approve_adjustment(*, adjustment: Adjustment, actor: Any, note: str = "") -> Adjustment:
    """Approve and carry out: deliver the energy or post the money."""
    adj, account = _decide(adjustment, actor)
    extra: dict[str, Any] = {}
    if adj.amount is not None:
        if adj.amount < 0 and ledger.balance_of(account) + adj.amount < 0:
            raise ActionError(
                "exceeds_balance",
                _("The balance is %(b)s; it cannot be debited %(a)s.")
                % {"b": ledger.balance_of(account), "a": -adj.amount},
            )
        ledger.post(
            account,
            EntryKind.ADJUSTMENT,
            adj.amount,
            actor=actor,
            idempotency_key=f"adjustment:{adj.pk}",
            memo=_("Adjustment: %(r)s") % {"r": adj.reason},
        )
    else:
        extra = _deliver_energy(adj, account, actor)
    record_decision(adj, actor, AdjustmentStatus.APPROVED, note)
    _audit(actor, "adjustment.approve", adj, **extra)
    return adj


def _deliver_energy(adj: Adjustment, account: Account, actor: Any) -> dict[str, Any]:
    meter = active_meter(account)
    if meter is None:
        raise ActionError("no_meter", _("Account %(a)s has no meter installed.") % {"a": account.number})
    return deliver_units(
        locked(Meter, meter.pk),
        adj.register_units or Decimal(0),
        adj.delivery,
        actor=actor,
        utility=account.utility,
        reason=f"adjustment {adj.pk}: {adj.reason}",
        idempotency_key=f"adjustment:{adj.pk}",
        today=timezone.localdate(),
        adjustment=adj,
    )


@transaction.atomic
def do_reject_adjustment(*, adjustment: Adjustment, actor: Any, note: str) -> Adjustment:
    adj, _account = _decide(adjustment, actor)
    note = (note or "").strip()
    if not note:
        raise ActionError("reason_required", _("Say why."))
    record_decision(adj, actor, AdjustmentStatus.REJECTED, note)
    _audit(actor, "adjustment.reject", adj, note=adj.decision_note)
    return adj
