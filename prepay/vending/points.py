"""What a sale, a reversal or a carried-credit delivery writes at its vending point: the next gap-free
receipt number with its receipt, and an agent's float entry.

Shared by ``actions.py`` (sales, float top-ups), ``reversals.py`` (reversal slips, the float credited
back) and ``deliveries.py`` (carried-credit receipts). ``take_number`` needs the point's row lock
held by the caller; ``lock_and_number`` and ``post_float`` take it with their ``UPDATE``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import connections, router

from prepay.common.actions import does_not_exist
from prepay.domain.money import MONEY_PLACES, to_minor
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


def lock_and_number(point_pk: int, *, draw: Decimal | None = None) -> VendingPoint:
    """The point, taken under its row lock with its next gap-free receipt number, in one statement
    (``UPDATE … RETURNING``): ``point.receipt_counter`` is the number taken. ``draw``: a sale's money,
    drawn on the float of a point that uses one by the same statement (``float_seq`` and
    ``float_balance`` are then the new entry's: write it with ``post_float(…, moved=True)``; the caller
    refuses a draw past the credit limit). A sale refused after this rolls the number and the draw
    back with everything else; ``take_number`` is the same step for a caller that already holds the
    lock. ``not_found`` when there is no such point."""
    sets = ["{receipt_counter} = {receipt_counter} + 1"]
    params: list[Any] = []
    if draw is not None:
        sets += [
            "{float_seq} = CASE WHEN {uses_float} THEN {float_seq} + 1 ELSE {float_seq} END",
            "{float_balance} = CASE WHEN {uses_float} THEN {float_balance} - %s ELSE {float_balance} END",
        ]
        params.append(_minor(draw))
    return _moved(point_pk, sets, params)


def _minor(amount: Decimal) -> int:
    """``amount`` as the float balance column stores it."""
    return to_minor(amount, MONEY_PLACES)


def _moved(point_pk: int, sets: list[str], params: list[Any]) -> VendingPoint:
    """``UPDATE`` the point's row with ``sets`` (``{column}`` names the model's columns) and give the
    row as it now stands, read through ``raw()`` on the write database; ``not_found`` when there is
    no such point."""
    db = router.db_for_write(VendingPoint)
    meta = VendingPoint._meta
    quote = connections[db].ops.quote_name
    names = {f.name: quote(str(f.column)) for f in meta.concrete_fields}
    columns = ", ".join(names.values())
    assignments = ", ".join(part.format(**names) for part in sets)
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {assignments} "  # noqa: S608 - names from the model
        f"WHERE {names['id']} = %s RETURNING {columns}"
    )
    points = list(VendingPoint.objects.db_manager(db).raw(sql, [*params, point_pk]))
    if not points:
        raise does_not_exist(VendingPoint)
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


def post_float(
    point: VendingPoint,
    amount: Decimal,
    *,
    actor: Any,
    memo: str,
    vend: Vend | None = None,
    idempotency_key: str | None = None,
    moved: bool = False,
) -> AgentFloatEntry:
    """Append a float entry of ``amount``: the point's float position (``float_seq``,
    ``float_balance``) moves by it in one ``UPDATE … RETURNING``, which also takes the point's row
    lock, and the entry is written at the new position. ``moved``: ``lock_and_number`` has already
    moved it by ``amount`` (``point`` is the row it gave)."""
    if not moved:
        now = _moved(
            point.pk,
            ["{float_seq} = {float_seq} + 1", "{float_balance} = {float_balance} + %s"],
            [_minor(amount)],
        )
        point.float_seq, point.float_balance = now.float_seq, now.float_balance
    return AgentFloatEntry.objects.create(
        point=point,
        seq=point.float_seq,
        amount=amount,
        balance_after=point.float_balance,
        memo=memo[:200],
        vend=vend,
        idempotency_key=idempotency_key,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
