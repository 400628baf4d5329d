"""The transaction marker shared by a transaction's audit events and ledger rows."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from prepay.audit.actions import batched, record_event
from prepay.audit.marker import current_txn
from prepay.vending import ledger
from prepay.vending.models import EntryKind, JournalLine
from tests import factories as f


class TransactionMarkerTestCase:
    def test_it_is_none_outside_a_transaction(self, db):
        assert current_txn() is None

    def test_it_is_stable_within_a_transaction_and_new_in_the_next(self, db):
        with transaction.atomic():
            first = current_txn()
            with transaction.atomic():  # a released savepoint belongs to its transaction
                inner = current_txn()
            assert current_txn() == first == inner
        with transaction.atomic():
            second = current_txn()
        assert first and second and first != second and len(first) == 16

    def test_it_changes_after_the_savepoint_that_took_it_is_rolled_back(self, db):
        with transaction.atomic():
            with pytest.raises(ValueError), transaction.atomic():
                doomed = current_txn()
                raise ValueError
            kept = current_txn()
            try:
                with transaction.atomic():  # a rolled-back sibling leaves the marker alone
                    raise ValueError
            except ValueError:
                pass
            assert current_txn() == kept != doomed

    def test_the_events_and_ledger_rows_of_a_transaction_share_it(self, world):
        acc = f.account(world.a1)
        with transaction.atomic(), batched():
            entry = ledger.post(acc, EntryKind.PAYMENT, Decimal("5.00"), actor=world.cashier)
            event = record_event(actor=world.cashier, verb="test.sale", obj=entry)
            marker = current_txn()
        entry.refresh_from_db()
        assert entry.audit_txn == event.txn == marker
        assert set(JournalLine.objects.filter(entry=entry).values_list("audit_txn", flat=True)) == {marker}

    def test_it_is_inside_the_events_hash(self, world):
        from prepay.audit.chain import event_hash

        with transaction.atomic():
            event = record_event(actor=None, verb="test.x", object_type="t", object_id="1", object_repr="x")
        row = {**event.__dict__, "txn": None}
        assert event.txn and event_hash(row) != event.hash
