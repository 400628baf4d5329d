"""What the follow-up screens show: adjustments, protected supply, bills and fees.

The views call these with an account they have already scoped to the user (or, for the approvals
queue, read rows scoped with ``for_user``); nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone

from prepay.billing.models import Bill, FeeCharge, FeeSchedule, ProtectedSupply, SupplyState
from prepay.customers.choices import AccountMode
from prepay.customers.models import Account
from prepay.telemetry.models import MeterCommand
from prepay.vending.models import Adjustment, AdjustmentStatus, CardImage

# ---- adjustments -------------------------------------------------------------------------------------


@dataclass
class AdjustmentRow:
    """An adjustment with what delivered it: STS tokens, an IC-card image or a remote credit command."""

    adjustment: Adjustment
    tokens: list[Any] = field(default_factory=list)
    card: CardImage | None = None
    command: MeterCommand | None = None


def _rows(adjustments: list[Adjustment]) -> list[AdjustmentRow]:
    ids = [a.pk for a in adjustments]
    cards = {c.adjustment_id: c for c in CardImage.objects.filter(adjustment_id__in=ids)}
    # a remote credit is queued with the key ``adjustment:<pk>`` (prepay/vending/adjustments.py)
    commands = {
        c.idempotency_key: c
        for c in MeterCommand.objects.filter(idempotency_key__in=[f"adjustment:{i}" for i in ids])
    }
    return [
        AdjustmentRow(
            adjustment=a,
            tokens=list(a.tokens.all()),
            card=cards.get(a.pk),
            command=commands.get(f"adjustment:{a.pk}"),
        )
        for a in adjustments
    ]


def adjustment_rows(account: Account, limit: int = 50) -> list[AdjustmentRow]:
    """The account's adjustments, newest first, with their token / card / command."""
    qs = (
        Adjustment.objects.filter(account=account)
        .select_related("requested_by", "decided_by")
        .prefetch_related("tokens")
        .order_by("-requested_at", "-pk")[:limit]
    )
    return _rows(list(qs))


def pending_adjustments(user: Any) -> list[Adjustment]:
    """Adjustments awaiting a decision on the sites where the user may approve, oldest first."""
    return list(
        Adjustment.objects.for_user(user, "reversal.approve")  # type: ignore[attr-defined]
        .filter(status=AdjustmentStatus.REQUESTED)
        .select_related("account__customer", "requested_by")
        .order_by("requested_at", "pk")
    )


# ---- protected supply --------------------------------------------------------------------------------


@dataclass
class ProtectionRow:
    protection: ProtectedSupply
    state: str  # "active", "upcoming", "over", "ended" (ended early)

    @property
    def open(self) -> bool:
        """Still to come or running: it can be ended early."""
        return self.state in ("active", "upcoming")


def _state(p: ProtectedSupply, now: Any) -> str:
    if p.cancelled_at is not None:
        return "ended"
    if p.ends_at <= now:
        return "over"
    return "active" if p.starts_at <= now else "upcoming"


def protection_rows(account: Account, limit: int = 10) -> list[ProtectionRow]:
    """The account's protection windows (newest first) with their state now."""
    now = timezone.now()
    qs = ProtectedSupply.objects.filter(account=account).select_related("created_by")
    return [ProtectionRow(p, _state(p, now)) for p in qs.order_by("-starts_at", "-pk")[:limit]]


def active_protection(account: Account) -> ProtectedSupply | None:
    """The protection in force now (the one ending last), if any."""
    now = timezone.now()
    return (
        ProtectedSupply.objects.filter(
            account=account, starts_at__lte=now, ends_at__gt=now, cancelled_at__isnull=True
        )
        .order_by("-ends_at")
        .first()
    )


# ---- bills and fees, warning / cut-off state ---------------------------------------------------------


@dataclass
class BillRow:
    bill: Bill
    paid: Decimal
    status: str  # "paid", "overdue", "open"

    @property
    def outstanding(self) -> Decimal:
        return max(self.bill.amount - self.paid, Decimal("0.00"))


def _bill_status(bill: Bill, paid: Decimal, today: date) -> str:
    if bill.settled_at is not None or paid >= bill.amount:
        return "paid"
    return "overdue" if bill.due_date < today else "open"


def account_billing(account: Account) -> dict[str, Any]:
    """Fees (the account's schedules and its unit's, and the charges posted), postpaid bills with what
    was paid, and the warning / cut-off state the billing rule keeps for the account."""
    today = timezone.localdate()
    schedules = FeeSchedule.objects.filter(
        Q(account=account) | Q(account__isnull=True, unit_id=account.unit_id, site_id=account.site_id)
    ).order_by("-active", "kind", "name", "pk")
    charges = (
        FeeCharge.objects.filter(account=account).select_related("schedule").order_by("-period", "-pk")[:24]
    )
    bills = Bill.objects.filter(account=account).prefetch_related("payments").order_by("-period_start")[:24]
    rows = []
    for b in bills:
        paid = sum((p.amount for p in b.payments.all()), Decimal("0.00"))
        rows.append(BillRow(b, paid, _bill_status(b, paid, today)))
    state = SupplyState.objects.filter(account=account).first()
    thresholds = None
    if account.mode == AccountMode.REMOTE:
        from prepay.billing.supply import thresholds as thresholds_for

        thresholds = thresholds_for(account)
    return {
        "schedules": list(schedules),
        "charges": list(charges),
        "bills": rows,
        "owing": sum((r.outstanding for r in rows if r.status != "paid"), Decimal("0.00")),
        "overdue": sum(1 for r in rows if r.status == "overdue"),
        "state": state,
        "thresholds": thresholds,
        "active": active_protection(account),
    }
