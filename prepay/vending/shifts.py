"""Cashier shifts and cash-up (交班扎帐): expected money per payment method (sales less voids) vs what was
counted."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from prepay.audit.actions import record_event
from prepay.common.actions import locked
from prepay.common.amounts import parse_amount
from prepay.common.errors import ActionError
from prepay.domain.money import money
from prepay.tenancy.scoping import require
from prepay.vending.models import (
    ApprovalStatus,
    PaymentMethod,
    PointKind,
    Reversal,
    ReversalKind,
    Shift,
    ShiftStatus,
    Vend,
    VendingPoint,
)


def _audit(actor: Any, verb: str, shift: Shift, **after: Any) -> None:
    site = shift.point.site
    record_event(actor=actor, verb=verb, obj=shift, group_id=site.group_id, site_id=site.pk, after=after)


@transaction.atomic
def do_open_shift(*, point: VendingPoint, actor: Any, opening_float: Any = 0) -> Shift:
    """Open the actor's shift at a counter (one open shift per cashier)."""
    point = locked(VendingPoint, point.pk)
    require(actor, "vend.sell", group_id=point.site.group_id, site_id=point.site_id)
    if point.kind != PointKind.COUNTER or not point.active:
        raise ActionError("not_a_counter", _("Shifts are opened at an active vending counter."))
    cash = parse_amount(opening_float, _("The opening float"), sign="nonnegative", places=2)
    try:
        with transaction.atomic():
            shift = Shift.objects.create(
                point=point, cashier=actor, opening_float=cash, opened_at=timezone.now()
            )
    except IntegrityError:
        raise ActionError(
            "shift_already_open", _("You already have an open shift; close it first.")
        ) from None
    _audit(actor, "shift.open", shift, point=point.code, opening_float=str(cash))
    return shift


def shift_summary(shift: Shift) -> dict[str, Any]:
    """What the drawer should hold per payment method, and how that figure is made.

    ``sales``: money taken by the shift's vends, every one (the money crossed the counter when it was
    sold); ``voids``: money of reversals approved while the shift was open (``reversals.Settlement``
    VOID), which the cashier paid back across the counter; ``expected`` = sales − voids, plus the
    opening float in cash. A reversal approved after the shift closed is a refund paid by finance: it
    is not a void and never changes a closed cash-up; ``finance_refunds`` counts them for information.
    Also ``counts`` / ``void_counts`` per method, ``vends`` (number of sales), ``taken`` (sales − voids).
    """
    from prepay.vending.reversals import Settlement, settlement_from_row, with_settlement

    zero = {m: Decimal("0.00") for m in PaymentMethod.values}
    sales, voids = dict(zero), dict(zero)
    counts = {m: 0 for m in PaymentMethod.values}
    void_counts = dict(counts)
    rows = Vend.objects.filter(shift=shift).values("method").annotate(total=Sum("amount"), n=Count("id"))
    for row in rows:
        # Sum() keeps the MoneyField output type, so the total comes back as Decimal yuan
        sales[row["method"]] = money(row["total"] or 0)
        counts[row["method"]] = row["n"]
    reversals = with_settlement(
        Reversal.objects.filter(vend__shift=shift, status=ApprovalStatus.APPROVED, kind=ReversalKind.REVERSAL)
    ).only("method", "amount")
    refunded = Decimal("0.00")
    refunds = 0
    for r in reversals:
        if settlement_from_row(r) == Settlement.VOID:
            voids[r.method] += r.amount
            void_counts[r.method] += 1
        else:
            refunded += r.amount
            refunds += 1
    expected = {m: sales[m] - voids[m] for m in PaymentMethod.values}
    expected[PaymentMethod.CASH] += shift.opening_float
    return {
        "sales": sales,
        "voids": voids,
        "expected": expected,
        "counts": counts,
        "void_counts": void_counts,
        "vends": sum(counts.values()),
        "voided": sum(void_counts.values()),
        "taken": sum(sales.values()) - sum(voids.values()),
        "finance_refunds": {"count": refunds, "amount": refunded},
    }


@transaction.atomic
def do_close_shift(*, shift: Shift, actor: Any, declared: dict[str, Any], note: str = "") -> Shift:
    """Close the shift with the money counted per method; the difference (declared − expected) is kept.

    Expected is :func:`shift_summary`'s: sales less voids, plus the opening float in cash. Once closed,
    a reversal of one of the shift's sales is a refund paid by finance and leaves this cash-up alone.
    """
    shift = locked(Shift, shift.pk)
    require(actor, "vend.sell", group_id=shift.point.site.group_id, site_id=shift.point.site_id)
    if shift.cashier_id != getattr(actor, "pk", None):
        raise ActionError("not_your_shift", _("Only the cashier who opened a shift closes it."))
    if shift.status != ShiftStatus.OPEN:
        raise ActionError("shift_closed", _("This shift is already closed."))
    unknown = set(declared) - set(PaymentMethod.values)
    if unknown:
        raise ActionError(
            "invalid_method", _("Unknown payment method %(m)s.") % {"m": ", ".join(sorted(unknown))}
        )
    counted = {
        m: parse_amount(declared.get(m, 0), str(PaymentMethod(m).label), sign="nonnegative", places=2)
        for m in PaymentMethod.values
    }
    summary = shift_summary(shift)  # read under the shift's lock: an approval waits for it (voids)
    expected = summary["expected"]
    shift.expected = {m: str(v) for m, v in expected.items()}
    shift.declared = {m: str(v) for m, v in counted.items()}
    shift.difference = {m: str(counted[m] - expected[m]) for m in PaymentMethod.values}
    shift.status = ShiftStatus.CLOSED
    shift.closed_at = timezone.now()
    shift.note = (note or "").strip()[:200]
    shift.save()
    _audit(
        actor,
        "shift.close",
        shift,
        sales={m: str(v) for m, v in summary["sales"].items()},
        voids={m: str(v) for m, v in summary["voids"].items()},
        expected=shift.expected,
        declared=shift.declared,
        difference=shift.difference,
    )
    return shift
