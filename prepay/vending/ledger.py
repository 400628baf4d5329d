"""Posting to the customer ledger: the only code that moves an account's balance.

Every posting is also a balanced double-entry journal (``JournalLine``): the customer book takes the
opposite of the entry's amount (a liability: credit when the account is credited) and the counter book
(cash, revenue, tax, agent float …) takes the rest, so each journal sums to zero and, per account,
−Σ customer lines == balance. ``prepay db check`` proves both.

Every entry and journal line carries ``audit_txn``, the marker of the transaction writing it
(:func:`prepay.audit.marker.current_txn`): the action's audit event carries the same marker, and
``prepay db check`` reports rows written in a transaction that recorded no audit event.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils.translation import gettext as _

from prepay.audit.marker import current_txn
from prepay.common.errors import ActionError
from prepay.common.fields import MoneyField
from prepay.customers.models import Account
from prepay.domain.money import money
from prepay.meters.models import Installation
from prepay.vending.models import EntryKind, JournalLine, LedgerEntry

# books of the journal
CASH = "cash"
CUSTOMER = "customer"
REVENUE_ENERGY = "revenue:energy"
REVENUE_FEES = "revenue:fees"
TAX = "tax:vat"
AGENT_FLOAT = "agent_float"
ADJUSTMENTS = "adjustments"
TRANSFERS = "transfers"

#: where the other side of an entry goes when the caller does not say
DEFAULT_BOOK = {
    EntryKind.PAYMENT: CASH,
    EntryKind.VEND: REVENUE_ENERGY,
    EntryKind.CHARGE: REVENUE_ENERGY,
    EntryKind.FEE: REVENUE_FEES,
    EntryKind.ADJUSTMENT: ADJUSTMENTS,
    EntryKind.CREDIT_RETURN: REVENUE_ENERGY,
    EntryKind.REFUND: CASH,
    EntryKind.REVERSAL: REVENUE_ENERGY,
    EntryKind.TRANSFER: TRANSFERS,
}


def balance_of(account: Account | int) -> Decimal:
    """The account's balance: ``balance_after`` of its newest entry (0 with no entries)."""
    last = last_of(account)
    return last[1] if last is not None else Decimal("0.00")


def last_of(account: Account | int) -> tuple[int, Decimal] | None:
    """(seq, balance_after) of the account's newest entry; None before the first."""
    account_id = account if isinstance(account, int) else account.pk
    row = (
        LedgerEntry.objects.filter(account_id=account_id)
        .order_by("-seq")
        .values_list("seq", "balance_after")
        .first()
    )
    return (row[0], row[1]) if row else None


def post(
    account: Account,
    kind: str,
    amount: Decimal,
    *,
    actor: Any,
    energy: Decimal | None = None,
    memo: str = "",
    idempotency_key: str | None = None,
    reverses: LedgerEntry | None = None,
    book: str | None = None,
    tax: Decimal = Decimal("0.00"),
    point: Any = None,
    method: str = "",
    previous: LedgerEntry | None = None,
    fresh_key: bool = False,
    last: tuple[int, Decimal] | None = None,
) -> LedgerEntry:
    """Append one entry and its journal. The caller holds the account row lock (``select_for_update``)
    in its transaction.

    ``book`` is the counter book (default by kind, see ``DEFAULT_BOOK``); ``tax`` the part of the
    amount that is VAT (a positive number; it goes to the tax book with the entry's sign, the rest to
    ``book``). ``point``/``method`` tag cash lines for cash-up and reports.
    A repeated ``idempotency_key`` returns the entry first written with it and moves no money; the
    same key with a different account, kind or amount is refused. Callers that have already proved
    the key new under the account's lock may pass ``fresh_key=True`` (the unique index still guards),
    and ``previous`` — the account's newest entry, which they wrote in this transaction — or ``last``
    — its ``last_of``, read under that lock — to save the round trips.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger.post must run inside the action's transaction")
    amount = money(amount)
    if idempotency_key and not fresh_key:
        existing = _replayed(idempotency_key, account, kind, amount)
        if existing is not None:
            return existing
    seq, balance = _next_position(account, previous, last)
    marker = current_txn()  # the action's audit event carries it too (no statement: see marker.py)
    entry = LedgerEntry.objects.create(
        account=account,
        seq=seq,
        kind=kind,
        amount=amount,
        balance_after=balance + amount,
        energy=energy,
        memo=memo[:200],
        idempotency_key=idempotency_key or None,
        reverses=reverses,
        created_by=actor if getattr(actor, "pk", None) else None,
        audit_txn=marker,
    )
    _post_journal(account, entry, kind, amount, book=book, tax=tax, point=point, method=method, marker=marker)
    return entry


def _replayed(idempotency_key: str, account: Account, kind: str, amount: Decimal) -> LedgerEntry | None:
    """The entry first written with ``idempotency_key``, None when the key is new; refused
    (``idempotency_conflict``) when that entry is of another account, kind or amount."""
    existing = LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
    if existing is None:
        return None
    if (existing.account_id, existing.kind, existing.amount) != (account.pk, kind, amount):
        raise ActionError(
            "idempotency_conflict",
            _("This idempotency key was already used for a different request."),
        )
    return existing


def _next_position(
    account: Account, previous: LedgerEntry | None, last: tuple[int, Decimal] | None
) -> tuple[int, Decimal]:
    """(seq, balance before) of the account's next entry: from ``previous`` or ``last`` when the
    caller has them (see :func:`post`), else read."""
    if previous is not None and previous.account_id == account.pk:
        last = (previous.seq, previous.balance_after)
    elif last is None:
        last = last_of(account)
    return (last[0] + 1, last[1]) if last else (1, Decimal("0.00"))


def _post_journal(
    account: Account,
    entry: LedgerEntry,
    kind: str,
    amount: Decimal,
    *,
    book: str | None,
    tax: Decimal,
    point: Any,
    method: str,
    marker: str | None,
) -> None:
    """Write ``entry``'s balanced journal: the customer book takes ``-amount``, the counter book the
    rest less the VAT, the tax book the VAT (see :func:`post`)."""
    tax = money(tax)
    if tax < 0 or tax > abs(amount):
        raise ValueError(f"tax {tax} must lie between 0 and the amount {amount}")
    signed_tax = tax if amount >= 0 else -tax
    lines = [(CUSTOMER, -amount), (book or DEFAULT_BOOK[EntryKind(kind)], amount - signed_tax)]
    if tax:
        lines.append((TAX, signed_tax))
    journal = uuid.uuid4()
    JournalLine.objects.bulk_create(
        JournalLine(
            journal=journal,
            book=b,
            amount=a,
            site_id=account.site_id,
            account=account if b == CUSTOMER else None,
            point=point if b in (CASH, AGENT_FLOAT) else None,
            method=method if b == CASH else "",
            entry=entry,
            audit_txn=marker,
        )
        for b, a in lines
        if a or b == CUSTOMER
    )


def with_meter_and_balance(accounts: QuerySet[Account]) -> QuerySet[Account]:
    """``accounts`` annotated with ``meter_serial`` (the active installation's meter, else None) and
    ``balance`` (Decimal; None before the first ledger entry), in the same query."""
    active = Installation.objects.filter(account=OuterRef("pk"), ended_at__isnull=True)
    newest = LedgerEntry.objects.filter(account=OuterRef("pk")).order_by("-seq")
    return accounts.annotate(
        meter_serial=Subquery(active.values("meter__serial")[:1]),
        balance=Subquery(newest.values("balance_after")[:1], output_field=MoneyField()),
    )
