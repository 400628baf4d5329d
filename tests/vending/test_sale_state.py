"""A sale reads its meter, the account's newest entry and whether its key was used in one query
(``prepay.vending.actions._sale_state``; one more without a meter): with a meter and without one, the sale runs on from the
newest entry and a used key answers as before."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from prepay.customers.choices import AccountMode
from prepay.vending import ledger
from prepay.vending.actions import _sale_state
from prepay.vending.models import EntryKind, LedgerEntry, Vend
from tests import factories as f
from tests.helpers import changes_nothing, refused
from tests.vending.test_vend import sell


def _adjust(account, amount: str, actor) -> None:
    with transaction.atomic():
        ledger.post(account, EntryKind.ADJUSTMENT, Decimal(amount), actor=actor, memo="opening")


class SaleStateTestCase:
    def test_one_query_reads_the_meter_the_newest_entry_and_the_key(self, shop):
        _adjust(shop.account, "-12.50", shop.world.admin)
        sell(shop, idempotency_key="state-1", amount="30.00")
        newest = LedgerEntry.objects.filter(account=shop.account).order_by("-seq").first()
        with transaction.atomic(), CaptureQueriesContext(connection) as q:
            state = _sale_state(shop.account, "state-1")
            fresh = _sale_state(shop.account, "state-2")
        assert len(q.captured_queries) == 2
        assert state.meter is not None and state.meter.pk == shop.meter.pk
        assert state.meter.model.pk == shop.meter.model_id and state.meter.token_state is not None
        assert state.last == (newest.seq, newest.balance_after) and state.key_used
        assert fresh.last == state.last and not fresh.key_used

    def test_an_account_without_a_meter_takes_one_query_more(self, shop):
        account = f.account(shop.world.a1, mode=AccountMode.REMOTE)
        with transaction.atomic(), CaptureQueriesContext(connection) as q:
            before = _sale_state(account, "state-3")
        assert len(q.captured_queries) == 2  # no meter found, then the account
        assert before.meter is None and before.last == (0, Decimal("0.00")) and not before.key_used
        _adjust(account, "7.25", shop.world.admin)
        sell(
            shop, account=account, idempotency_key="state-3", amount="20.00"
        )  # the payment; it stays on the balance
        with transaction.atomic():
            after = _sale_state(account, "state-3")
        assert after.meter is None and after.last == (2, Decimal("27.25")) and after.key_used

    def test_a_sale_runs_on_from_the_newest_entry(self, shop):
        _adjust(shop.account, "-10.00", shop.world.admin)  # arrears: part of the sale recovers them
        vend = sell(shop, amount="50.00")
        entries = list(LedgerEntry.objects.filter(account=shop.account).order_by("seq"))
        assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
        running = Decimal("0.00")
        for e in entries:
            running += e.amount
            assert e.balance_after == running
        assert vend.balance_after == running == ledger.balance_of(shop.account)

    def test_a_key_used_without_a_meter_replays_the_first_sale(self, shop):
        account = f.account(shop.world.a1, mode=AccountMode.REMOTE)
        first = sell(shop, account=account, idempotency_key="state-4", amount="20.00")
        with changes_nothing():
            again = sell(shop, account=account, idempotency_key="state-4", amount="20.00")
            refused("idempotency_conflict", sell, shop=shop, account=account, idempotency_key="state-4")
        assert again.pk == first.pk and again.replayed

    def test_a_key_used_for_another_account_is_refused(self, shop):
        sell(shop, idempotency_key="state-5", amount="20.00")
        other = f.account(shop.world.a1, mode=AccountMode.REMOTE)
        with changes_nothing():
            refused("idempotency_conflict", sell, shop=shop, account=other, idempotency_key="state-5")
        assert Vend.objects.filter(idempotency_key="state-5").count() == 1
