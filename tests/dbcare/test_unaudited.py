"""``db check`` cross-checks the ledger against the audit log: every ledger entry and journal line
was written in a transaction that committed an audit event (area ``unaudited``)."""

from __future__ import annotations

import importlib
from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection, transaction

from prepay.audit.models import AuditEvent
from prepay.billing import actions as billing
from prepay.billing.charging import charge_batch
from prepay.customers.choices import AccountMode
from prepay.dbcare import provenance, services
from prepay.vending import ledger
from prepay.vending.actions import (
    do_approve_adjustment,
    do_approve_reversal,
    do_request_adjustment,
    do_request_refund,
    do_request_reversal,
    do_topup_float,
)
from prepay.vending.models import EntryKind, JournalLine, LedgerEntry
from tests import factories as f
from tests.billing.conftest import at, meter_of, read, remote_account
from tests.billing.test_fees import schedule
from tests.vending.conftest import shop, store  # noqa: F401 - fixtures
from tests.vending.test_vend import sell


def unaudited() -> list[services.Finding]:
    return [x for x in services.check() if x.area == provenance.AREA]


def insert_raw_credit(account_id: int, seq: int, amount: int, balance: int) -> int:
    """A credit written straight into the table with SQL, as an insider would (no marker)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO vending_ledgerentry (account_id, seq, kind, amount, balance_after, memo, created_at) "
            "VALUES (%s, %s, 'payment', %s, %s, '', %s)",
            [account_id, seq, amount, balance, "2026-06-01 00:00:00+00:00"],
        )
    return LedgerEntry.objects.get(account_id=account_id, seq=seq).pk


class UnauditedLedgerTestCase:
    def test_it_reports_a_credit_inserted_with_sql(self, world):
        acc = f.account(world.a1)
        pk = insert_raw_credit(acc.pk, 1, 50000, 50000)
        [finding] = unaudited()
        assert finding.where == f"account id {acc.pk} entry #1 (id {pk})"
        assert "500.00" in finding.what and "no transaction marker" in finding.what

    def test_it_reports_a_post_outside_any_action(self, world):
        acc = f.account(world.a1)
        with transaction.atomic():  # a transaction, but no audit event in it
            entry = ledger.post(acc, EntryKind.PAYMENT, Decimal("80.00"), actor=world.cashier)
        findings = unaudited()
        # the entry is named once; its journal lines share its marker and are covered by it
        assert [x.where for x in findings] == [f"account id {acc.pk} entry #1 (id {entry.pk})"]
        assert "80.00" in findings[0].what and "outside an action" in findings[0].what
        assert services.check() == findings  # balances and journals add up: only the link is missing

    def test_it_reports_a_post_whose_action_event_was_rolled_back(self, world):
        from prepay.audit.actions import record_event

        acc = f.account(world.a1)
        with transaction.atomic():
            ledger.post(acc, EntryKind.PAYMENT, Decimal("1.00"), actor=world.cashier)
            try:
                with transaction.atomic():
                    record_event(actor=world.cashier, verb="test.undone", obj=acc)
                    raise ValueError("the step that recorded the event failed")
            except ValueError:
                pass
        assert len(unaudited()) == 1

    def test_it_reports_a_journal_line_written_around_the_actions(self, world, shop):  # noqa: F811
        sell(shop, amount="10.00")
        line = JournalLine.objects.filter(book="cash").first()
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO vending_journalline (journal, book, amount, site_id, method, created_at) "
                "VALUES (%s, 'cash', -500, %s, 'cash', %s)",
                [line.journal.hex, world.a1.site.pk, "2026-06-01 00:00:00+00:00"],
            )
        [finding] = unaudited()
        assert finding.where.startswith(f"journal {line.journal}") and "(cash)" in finding.where

    def test_it_accepts_vends_reversals_refunds_adjustments_and_floats(self, shop):  # noqa: F811
        w = shop.world
        vend = sell(shop, amount="50.00")
        do_approve_reversal(
            reversal=do_request_reversal(
                vend=vend, actor=w.cashier, reason="wrong meter", token_entered=False
            ),
            actor=w.finance,
        )
        remote = shop.sts_account(mode=AccountMode.REMOTE)
        sell(shop, account=remote, amount="80.00")
        refund = do_request_refund(account=remote, amount="30.00", actor=w.clerk, reason="moving out")
        do_approve_reversal(reversal=refund, actor=w.finance)
        adj = do_request_adjustment(account=remote, actor=w.clerk, reason="misread", amount="-5.00")
        do_approve_adjustment(adjustment=adj, actor=w.admin)
        do_topup_float(point=shop.agent, amount="100.00", actor=w.finance, idempotency_key="float-1")
        sell(shop, amount="20.00", point=shop.agent, idempotency_key="agent-1")
        assert LedgerEntry.objects.count() >= 8 and JournalLine.objects.filter(entry=None).exists()
        assert services.check() == []

    def test_it_accepts_charges_of_the_action_and_the_daemon_and_fees(self, world):
        w = world.a1
        one, two = remote_account(w), remote_account(w, unit=w.units[1])
        read(meter_of(one), at(2026, 3, 2), "10")
        read(meter_of(two), at(2026, 3, 2), "20")
        assert billing.do_charge_account(account=one, actor=world.admin)
        assert charge_batch([two.pk], until=at(2026, 3, 3))
        schedule(w, unit=w.units[0])
        assert billing.do_charge_fees(site=w.site, month=date(2026, 3, 1), actor=world.admin)
        assert AuditEvent.objects.filter(verb="billing.charge_batch").exists()
        assert LedgerEntry.objects.filter(kind=EntryKind.FEE).exists()
        assert services.check() == []


class WatermarkTestCase:
    """Rows older than the marker are trusted up to the watermark recorded in the audit chain."""

    @pytest.fixture
    def legacy(self, world):
        """Two accounts whose entries were written before the marker existed (audit_txn NULL), and
        the watermark event the cut-over migration records."""
        cutover = importlib.import_module("prepay.vending.migrations.0006_ledger_audit_marker")
        accounts = [f.account(world.a1), f.account(world.a1, unit=world.a1.units[1])]
        for acc in accounts:
            with transaction.atomic():
                ledger.post(acc, EntryKind.PAYMENT, Decimal("10.00"), actor=None)
        LedgerEntry.objects.update(audit_txn=None)
        JournalLine.objects.update(audit_txn=None)
        with transaction.atomic():
            cutover.record_watermark(apps, None)
        return accounts

    def test_it_trusts_the_rows_below_the_watermark(self, legacy):
        event = AuditEvent.objects.get(verb=provenance.WATERMARK_VERB)
        assert event.after["vending_ledgerentry"]["count"] == 2 and event.mac
        newest = LedgerEntry.objects.order_by("-pk").first()
        assert provenance.watermark()["vending_ledgerentry"] == (newest.pk, 2)
        assert services.check() == []

    def test_it_reports_an_unmarked_row_after_the_watermark(self, legacy):
        pk = insert_raw_credit(legacy[0].pk, 2, 1000, 2000)
        assert [x.where for x in unaudited()] == [f"account id {legacy[0].pk} entry #2 (id {pk})"]

    def test_it_reports_a_row_slipped_in_below_the_watermark(self, legacy):
        with connection.cursor() as cursor:  # an explicit id below every id counted at the cut-over
            cursor.execute(
                "INSERT INTO vending_ledgerentry (id, account_id, seq, kind, amount, balance_after, memo, "
                "created_at) VALUES (0, %s, 2, 'payment', 1000, 2000, '', %s)",
                [legacy[0].pk, "2026-06-01 00:00:00+00:00"],
            )
        [finding] = unaudited()
        assert (
            finding.where == "vending_ledgerentry"
            and "1 rows appeared at or below the watermark" in finding.what
        )

    def test_a_new_database_records_no_watermark(self, db):
        cutover = importlib.import_module("prepay.vending.migrations.0006_ledger_audit_marker")
        with transaction.atomic():
            cutover.record_watermark(apps, None)
        assert not AuditEvent.objects.exists() and provenance.watermark() == {}
