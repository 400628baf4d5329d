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
from dataclasses import dataclass, replace
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


@dataclass(frozen=True)
class Posting:
    """One entry to append (see :func:`post` for what each field means)."""

    kind: str
    amount: Decimal
    energy: Decimal | None = None
    memo: str = ""
    idempotency_key: str | None = None
    reverses: LedgerEntry | None = None
    book: str | None = None
    tax: Decimal = Decimal("0.00")
    point: Any = None
    method: str = ""


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
    _require_transaction()
    posting = Posting(kind, money(amount), energy, memo, idempotency_key, reverses, book, tax, point, method)
    if idempotency_key and not fresh_key:
        existing = _replayed(idempotency_key, account, kind, posting.amount)
        if existing is not None:
            return existing
    return post_fresh(account, [posting], actor=actor, last=_position(account, previous, last))[0]


def post_fresh(
    account: Account, postings: list[Posting], *, actor: Any, last: tuple[int, Decimal]
) -> list[LedgerEntry]:
    """Append ``postings`` in order, in one ``INSERT``, and all their journals in one more: what
    :func:`post` does for each, for a caller (a sale) that holds the account's lock, has proved every
    idempotency key new (the unique index still guards) and has read ``last`` (``last_of``, or
    ``(0, 0)`` before the first entry) under that lock."""
    _require_transaction()
    marker = current_txn()  # the action's audit event carries it too (no statement: see marker.py)
    postings = [replace(p, amount=money(p.amount)) for p in postings]
    entries = []
    seq, balance = last
    for posting in postings:
        seq += 1
        entries.append(_entry(account, posting, seq, balance, actor, marker))
        balance = entries[-1].balance_after
    LedgerEntry.objects.bulk_create(entries)  # ids come back (RETURNING) for the journal lines
    JournalLine.objects.bulk_create(
        [line for e, p in zip(entries, postings, strict=True) for line in _journal(account, e, p, marker)]
    )
    return entries


def _require_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger.post must run inside the action's transaction")


def _entry(
    account: Account, posting: Posting, seq: int, balance: Decimal, actor: Any, marker: str | None
) -> LedgerEntry:
    """The unsaved entry of ``posting`` at position ``seq``, after a balance of ``balance``."""
    return LedgerEntry(
        account=account,
        seq=seq,
        kind=posting.kind,
        amount=posting.amount,
        balance_after=balance + posting.amount,
        energy=posting.energy,
        memo=posting.memo[:200],
        idempotency_key=posting.idempotency_key or None,
        reverses=posting.reverses,
        created_by=actor if getattr(actor, "pk", None) else None,
        audit_txn=marker,
    )


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


def _position(
    account: Account, previous: LedgerEntry | None, last: tuple[int, Decimal] | None
) -> tuple[int, Decimal]:
    """(seq, balance after) of the account's newest entry, (0, 0) before the first: from ``previous``
    or ``last`` when the caller has them (see :func:`post`), else read."""
    if previous is not None and previous.account_id == account.pk:
        return previous.seq, previous.balance_after
    if last is None:
        last = last_of(account)
    return last if last else (0, Decimal("0.00"))


def _journal(account: Account, entry: LedgerEntry, posting: Posting, marker: str | None) -> list[JournalLine]:
    """``entry``'s balanced journal, unsaved: the customer book takes ``-amount``, the counter book
    the rest less the VAT, the tax book the VAT (see :func:`post`)."""
    amount = posting.amount
    tax = money(posting.tax)
    if tax < 0 or tax > abs(amount):
        raise ValueError(f"tax {tax} must lie between 0 and the amount {amount}")
    signed_tax = tax if amount >= 0 else -tax
    lines = [
        (CUSTOMER, -amount),
        (posting.book or DEFAULT_BOOK[EntryKind(posting.kind)], amount - signed_tax),
    ]
    if tax:
        lines.append((TAX, signed_tax))
    journal = uuid.uuid4()
    return [
        JournalLine(
            journal=journal,
            book=b,
            amount=a,
            site_id=account.site_id,
            account=account if b == CUSTOMER else None,
            point=posting.point if b in (CASH, AGENT_FLOAT) else None,
            method=posting.method if b == CASH else "",
            entry=entry,
            audit_txn=marker,
        )
        for b, a in lines
        if a or b == CUSTOMER
    ]


def with_meter_and_balance(accounts: QuerySet[Account]) -> QuerySet[Account]:
    """``accounts`` annotated with ``meter_serial`` (the active installation's meter, else None) and
    ``balance`` (Decimal; None before the first ledger entry), in the same query."""
    active = Installation.objects.filter(account=OuterRef("pk"), ended_at__isnull=True)
    newest = LedgerEntry.objects.filter(account=OuterRef("pk")).order_by("-seq")
    return accounts.annotate(
        meter_serial=Subquery(active.values("meter__serial")[:1]),
        balance=Subquery(newest.values("balance_after")[:1], output_field=MoneyField()),
    )
