"""``services.check``: integrity, foreign keys, triggers, ledger and audit invariants (SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction

from prepay.audit.actions import record_event
from prepay.dbcare import services
from prepay.meters.actions import do_register_meter
from prepay.vending import ledger
from prepay.vending.models import EntryKind, LedgerEntry
from tests import factories as f
from tests.audit import tamper


def audited(actor, *postings):
    """Post like an action does: the postings and an audit event in one transaction."""
    with transaction.atomic():
        for acc, kind, amount, *tax in postings:
            entry = ledger.post(acc, kind, Decimal(amount), actor=actor, tax=Decimal(tax[0] if tax else "0"))
        record_event(actor=actor, verb="test.posting", obj=entry)
    return entry


@pytest.fixture
def books(world):
    """Two accounts with a few consistent ledger entries, and audit events from real actions."""
    accounts = [f.account(world.a1), f.account(world.a1, unit=world.a1.units[1])]
    for acc in accounts:
        audited(
            world.cashier,
            (acc, EntryKind.PAYMENT, "100.00"),
            (acc, EntryKind.VEND, "-30.50"),
            (acc, EntryKind.FEE, "-0.25"),
        )
    for i in range(3):
        do_register_meter(site=world.a1.site, serial=f"CHK{i}", model=world.a1.single, actor=world.admin)
    return accounts


def areas(findings: list[services.Finding]) -> list[str]:
    return [x.area for x in findings]


class CheckTestCase:
    def test_it_finds_nothing_on_consistent_data(self, books):
        assert services.check() == []

    def test_it_finds_a_balance_after_that_does_not_add_up(self, books):
        acc = books[0]
        bad = LedgerEntry.objects.create(
            account=acc,
            seq=4,
            kind=EntryKind.PAYMENT,
            amount=Decimal("10.00"),
            balance_after=Decimal("999.00"),
        )
        findings = services.check()
        # the raw insert also bypassed the journal, so the customer book no longer mirrors the ledger,
        # and no audit event accounts for it
        assert areas(findings) == ["ledger", "ledger", "journal", "unaudited"]
        step, total, _book, _unaudited = findings
        assert f"account id {acc.pk} entry #4 (id {bad.pk})" == step.where
        assert "balance after is 999.00" in step.what and "69.25 plus the amount 10.00 is 79.25" in step.what
        assert total.where == f"account id {acc.pk}" and "999.00" in total.what and "79.25" in total.what

    def test_it_finds_an_unbalanced_journal_and_a_customer_book_that_disagrees(self, books):
        from prepay.vending.models import JournalLine

        line = JournalLine.objects.filter(entry__account=books[0], book="customer").first()
        JournalLine.objects.filter(pk=line.pk).update(amount=line.amount - Decimal("1.00"))
        findings = services.check()
        assert areas(findings) == ["journal", "journal"]
        assert "not 0" in findings[0].what
        assert findings[1].where == f"account id {books[0].pk}" and "disagrees" in findings[1].what

    def test_each_posting_is_a_balanced_journal_with_vat_on_its_own_book(self, world):
        from prepay.vending.models import JournalLine

        acc = f.account(world.a1)
        entry = audited(None, (acc, EntryKind.CHARGE, "-11.30", "1.30"))
        lines = {x.book: x.amount for x in JournalLine.objects.filter(entry=entry)}
        assert lines == {
            "customer": Decimal("11.30"),
            "revenue:energy": Decimal("-10.00"),
            "tax:vat": Decimal("-1.30"),
        }
        assert services.check() == []

    def test_it_finds_a_gap_in_an_accounts_sequence(self, books):
        acc = books[1]
        LedgerEntry.objects.create(
            account=acc, seq=6, kind=EntryKind.PAYMENT, amount=Decimal("1.00"), balance_after=Decimal("70.25")
        )
        findings = services.check()
        assert areas(findings) == ["ledger", "journal", "unaudited"]
        assert "entry #6" in findings[0].where and "#4..#5 are missing" in findings[0].what

    def test_it_finds_an_audit_event_altered_with_sql_and_the_dropped_trigger(self, books):
        tamper.alter(2, "refund 5000.00")
        findings = services.check()
        assert set(areas(findings)) == {"trigger", "audit"}
        audit = next(x for x in findings if x.area == "audit")
        assert audit.where.startswith("event #2 (id ") and audit.what.startswith("altered")

    def test_it_finds_the_chain_heads_guard_turned_off(self, books):
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("DROP TRIGGER audit_head_forward_only")
                where, state = "audit_audithead.audit_head_forward_only", "missing"
            else:
                cursor.execute(
                    "SET CONSTRAINTS ALL IMMEDIATE"
                )  # PostgreSQL refuses ALTER with events pending
                cursor.execute("ALTER TABLE audit_audithead DISABLE TRIGGER audit_head_guard")
                where, state = "audit_audithead.audit_head_guard", "disabled"
        [finding] = services.check()
        assert (finding.area, finding.where) == ("trigger", where)
        assert f"guard is {state}" in finding.what

    def test_it_finds_rows_pointing_at_a_missing_parent(self, books):
        # foreign keys are DEFERRABLE INITIALLY DEFERRED on both databases: an orphan can exist until commit
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO vending_ledgerentry (account_id, seq, kind, amount, balance_after, memo, created_at) "
                "VALUES (987654, 1, 'payment', 100, 100, '', %s)",
                ["2026-01-01 00:00:00+00:00"],
            )
            try:
                findings = services.check()
            finally:
                cursor.execute("DELETE FROM vending_ledgerentry WHERE account_id = 987654")
        fk = [x for x in findings if x.area == "foreign_key"]
        assert fk and "vending_ledgerentry" in fk[0].where and "customers_account" in fk[0].what

    def test_it_caps_a_flood_of_findings(self, books, monkeypatch):
        monkeypatch.setattr(services, "MAX_FINDINGS_PER_AREA", 2)
        acc = books[0]
        for seq in range(4, 9):
            LedgerEntry.objects.create(
                account=acc,
                seq=seq,
                kind=EntryKind.PAYMENT,
                amount=Decimal("1.00"),
                balance_after=Decimal("0.00"),
            )
        findings = [x for x in services.check() if x.area == "ledger"]
        assert len(findings) == 3 and "more findings" in findings[-1].what


class ConfigurationCheckTestCase:
    """db check lists stored configuration the engine would refuse, and misbound API clients."""

    def test_it_lists_a_tariff_broken_around_the_editor(self, books, world):
        from prepay.tariffs.models import Tariff

        Tariff.objects.filter(pk=world.a1.tariff.pk).update(
            kind="tiered", definition={"cycle": "month", "blocks": [{"upto": "200", "price": "-1"}]}
        )
        found = [x for x in services.check() if x.area == "configuration"]
        assert found and all(world.a1.tariff.name in x.where or "tariff" in x.where for x in found)

    def test_it_lists_an_api_client_selling_at_another_site(self, books, world):
        from prepay.api.actions import do_create_api_client
        from prepay.api.models import ApiClient
        from prepay.vending.models import VendingPoint

        client, _key = do_create_api_client(
            group=world.a1.group, site=world.a1.site, point=None, name="bank", scopes=["read"],
            roles=["cashier"], actor=world.admin,
        )  # fmt: skip
        other = VendingPoint.objects.create(site=world.a2.site, code="x2", name="A2 point")
        ApiClient.objects.filter(pk=client.pk).update(point=other)  # around the action
        assert "api_client" in areas(services.check())
