"""ledger.post_fresh: a sale's entries in one INSERT and their journals in one more, exactly what
posting them one by one writes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from prepay.vending import ledger
from prepay.vending.models import EntryKind, JournalLine, LedgerEntry
from tests import factories as f

SALE = [
    ledger.Posting(EntryKind.PAYMENT, Decimal("50"), book=ledger.CASH, method="cash", memo="pay"),
    ledger.Posting(
        EntryKind.VEND, Decimal("-48.455"), energy=Decimal("82.407"), tax=Decimal("5.57"), memo="energy"
    ),
]


def _written(account):
    """What the account's entries and journal lines hold, keys named without the account number."""
    entries = [
        (e.seq, e.kind, e.amount, e.balance_after, e.energy, e.memo, (e.idempotency_key or "").split(":")[-1])
        for e in LedgerEntry.objects.filter(account=account).order_by("seq")
    ]
    lines = [
        (ln.entry.seq, ln.book, ln.amount, ln.account_id == account.pk, ln.method, ln.point_id)
        for ln in JournalLine.objects.filter(entry__account=account)
        .select_related("entry")
        .order_by("entry__seq", "book")
    ]
    markers = set(LedgerEntry.objects.filter(account=account, seq__gt=1).values_list("audit_txn", flat=True))
    return entries, lines, markers


def _with_keys(account):
    return [
        ledger.Posting(**{**p.__dict__, "idempotency_key": f"{account.number}:{i}"})
        for i, p in enumerate(SALE)
    ]


def test_it_writes_what_posting_one_by_one_writes(world):
    one, batch = f.account(world.a1), f.account(world.a1)
    for account in (one, batch):
        with transaction.atomic():
            ledger.post(account, EntryKind.PAYMENT, Decimal("7.25"), actor=world.cashier)
    with transaction.atomic():
        previous = None
        for p in _with_keys(one):
            kw = {k: v for k, v in p.__dict__.items() if k not in ("kind", "amount")}
            previous = ledger.post(one, p.kind, p.amount, actor=world.cashier, previous=previous, **kw)
    with transaction.atomic():
        entries = ledger.post_fresh(batch, _with_keys(batch), actor=world.cashier, last=ledger.last_of(batch))
    assert all(e.pk for e in entries) and [e.seq for e in entries] == [2, 3]
    assert [e.balance_after for e in entries] == [
        Decimal("57.25"),
        Decimal("8.79"),
    ]  # -48.455 rounds to -48.46
    by_one, by_batch = _written(one), _written(batch)
    assert by_one[:2] == by_batch[:2] and len(by_batch[1]) == 2 + 2 + 3
    assert len(by_batch[2]) == 1 and None not in by_batch[2]  # one transaction's audit marker


def test_every_journal_balances_and_the_customer_book_is_the_balance(world):
    account = f.account(world.a1)
    with transaction.atomic():
        ledger.post_fresh(account, SALE, actor=world.cashier, last=(0, Decimal("0.00")))
    by_journal = (
        JournalLine.objects.filter(entry__account=account).values("journal").annotate(s=Sum("amount"))
    )
    assert len(by_journal) == 2 and all(j["s"] == 0 for j in by_journal)
    customer = JournalLine.objects.filter(account=account, book=ledger.CUSTOMER).aggregate(s=Sum("amount"))[
        "s"
    ]
    assert -customer == ledger.balance_of(account) == Decimal("1.54")
    assert JournalLine.objects.filter(entry__account=account, book=ledger.TAX).get().amount == Decimal(
        "-5.57"
    )


def test_two_statements_whatever_the_number_of_entries(world):
    account = f.account(world.a1)
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        ledger.post_fresh(account, SALE * 3, actor=world.cashier, last=(0, Decimal("0.00")))
    inserts = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 2 and LedgerEntry.objects.filter(account=account).count() == 6


def test_a_key_already_used_is_refused_by_the_index_and_writes_nothing(world):
    account = f.account(world.a1)
    with transaction.atomic():
        ledger.post(account, EntryKind.PAYMENT, Decimal("1"), actor=world.cashier, idempotency_key="k:pay")
    posting = ledger.Posting(EntryKind.PAYMENT, Decimal("1"), idempotency_key="k:pay")
    with pytest.raises(IntegrityError), transaction.atomic():
        ledger.post_fresh(account, [posting], actor=world.cashier, last=ledger.last_of(account))
    assert LedgerEntry.objects.filter(account=account).count() == 1
