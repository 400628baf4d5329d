"""What a sale, a reversal or a carried-credit delivery writes at its vending point: the next gap-free
receipt number with its receipt, and an agent's float entry.

Shared by ``actions.py`` (sales, float top-ups), ``reversals.py`` (reversal slips, the float credited
back) and ``deliveries.py`` (carried-credit receipts). The caller holds the point's row lock.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import connections, router
from django.utils.translation import gettext as _

from prepay.common.errors import NotFound
from prepay.vending.models import AgentFloatEntry, Receipt, Vend, VendingPoint


def receipt_code(point: VendingPoint, number: int) -> str:
    """``PREFIX-000123``. Without a prefix, the point's code and id (``C1.7``): a dot never appears in a
    set prefix, so the two kinds never meet, and the id keeps codes unique across sites and groups."""
    return f"{point.receipt_prefix or f'{point.code.upper()}.{point.pk}'}-{number:06d}"


def take_number(point: VendingPoint) -> str:
    """Take the next gap-free number of ``point`` (the caller holds the point's row lock); its code."""
    point.receipt_counter += 1
    point.save(update_fields=["receipt_counter"])
    return receipt_code(point, point.receipt_counter)


def lock_and_number(point_pk: int) -> VendingPoint:
    """The point, taken under its row lock with its next gap-free receipt number, in one statement
    (``UPDATE … RETURNING``): ``point.receipt_counter`` is the number taken. A sale refused after this
    rolls the number back with everything else; ``take_number`` is the same step for a caller that
    already holds the lock. ``not_found`` when there is no such point."""
    db = router.db_for_write(VendingPoint)
    meta = VendingPoint._meta

    def qn(name: str | None) -> str:  # a column or table name of the model, quoted
        return str(connections[db].ops.quote_name(str(name)))

    counter = qn(meta.get_field("receipt_counter").column)
    columns = ", ".join(qn(f.column) for f in meta.concrete_fields)
    sql = (
        f"UPDATE {qn(meta.db_table)} SET {counter} = {counter} + 1 "  # noqa: S608 - names from the model
        f"WHERE {qn('id')} = %s RETURNING {columns}"
    )
    points = list(VendingPoint.objects.db_manager(db).raw(sql, [point_pk]))
    if not points:
        raise NotFound("not_found", _("%(what)s does not exist.") % {"what": meta.verbose_name})
    return points[0]


def issue_receipt(point: VendingPoint, code: str, actor: Any, **target: Any) -> Receipt:
    """The receipt for the number just taken with ``take_number``."""
    return Receipt.objects.create(
        point=point,
        number=point.receipt_counter,
        code=code,
        issued_by=actor if getattr(actor, "pk", None) else None,
        **target,
    )


def next_receipt(point: VendingPoint, actor: Any, **target: Any) -> Receipt:
    """Take the next number and write its receipt (a refund or reversal slip)."""
    return issue_receipt(point, take_number(point), actor, **target)


def float_balance(point: VendingPoint) -> tuple[int, Decimal]:
    """(seq, balance) of the point's newest float entry; (0, 0) before the first."""
    last = point.float_entries.order_by("-seq").values_list("seq", "balance_after").first()
    return (last[0], last[1]) if last else (0, Decimal("0.00"))


def post_float(
    point: VendingPoint,
    amount: Decimal,
    *,
    actor: Any,
    memo: str,
    vend: Vend | None = None,
    idempotency_key: str | None = None,
    last: tuple[int, Decimal] | None = None,
) -> AgentFloatEntry:
    """Append a float entry; ``last`` is the point's ``float_balance`` when the caller, holding its
    lock, has just read it."""
    seq, balance = last if last is not None else float_balance(point)
    return AgentFloatEntry.objects.create(
        point=point,
        seq=seq + 1,
        amount=amount,
        balance_after=balance + amount,
        memo=memo[:200],
        vend=vend,
        idempotency_key=idempotency_key,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
