"""Cashier shifts and cash-up (交班扎帐): expected money per payment method vs what was counted."""

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
from prepay.vending.models import PaymentMethod, PointKind, Shift, ShiftStatus, Vend, VendingPoint


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
    """Money the drawer should hold per payment method (cash includes the opening float), and counts.

    Every vend taken in the shift counts, reversed or not: the money was taken at this counter; pay-outs
    of approved reversals are made by finance and show in their own reports.
    """
    rows = Vend.objects.filter(shift=shift).values("method").annotate(total=Sum("amount"), n=Count("id"))
    expected = {m: Decimal("0.00") for m in PaymentMethod.values}
    counts = {m: 0 for m in PaymentMethod.values}
    for row in rows:
        # Sum() keeps the MoneyField output type, so the total comes back as Decimal yuan
        expected[row["method"]] = money(row["total"] or 0)
        counts[row["method"]] = row["n"]
    expected[PaymentMethod.CASH] += shift.opening_float
    return {
        "expected": expected,
        "counts": counts,
        "vends": sum(counts.values()),
        "taken": sum(expected.values()) - shift.opening_float,
    }


@transaction.atomic
def do_close_shift(*, shift: Shift, actor: Any, declared: dict[str, Any], note: str = "") -> Shift:
    """Close the shift with the money counted per method; the difference (declared − expected) is kept."""
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
    expected = shift_summary(shift)["expected"]
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
        expected=shift.expected,
        declared=shift.declared,
        difference=shift.difference,
    )
    return shift
