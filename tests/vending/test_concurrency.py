"""Many cashiers vending to the same few accounts at once, retrying the same idempotency keys
(PostgreSQL, real threads and connections): no lost update, no double vend, no duplicate receipt or TID."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from prepay.dbcare import services
from prepay.tokens.models import IssuedToken
from prepay.vending import ledger
from prepay.vending.actions import do_open_shift, do_topup_float, do_vend
from prepay.vending.models import PointKind, Receipt, Vend, VendingPoint
from tests import factories as f
from tests.meters.test_concurrency import _race
from tests.tokens.conftest import import_test_key

pytestmark = pytest.mark.services


def _sts_site(n_accounts: int = 3):
    """A site with its vending key and ``n_accounts`` accounts with STS meters of that key."""
    w = f.site_world()
    admin = f.user(memberships=[(w.group, None, "admin")])
    import_test_key(w.group, admin)
    accounts = [
        f.account(
            w, unit=u, meter_=f.meter(w, drn="00000000000", supply_group_code="123456", tariff_index="01")
        )
        for u in w.units[:n_accounts]
    ]
    return w, admin, accounts


class ConcurrentVendTestCase:
    def test_simultaneous_vends_and_retries_are_exact(self, pg_transactional, store):
        w, _admin, accounts = _sts_site()
        point = VendingPoint.objects.create(site=w.site, code="c1", name="Counter 1")
        cashiers = [f.user(memberships=[(w.group, w.site, "cashier")]) for _ in range(4)]
        for c in cashiers:
            do_open_shift(point=point, actor=c)
        n, distinct = 24, 12  # every key is sent twice, by different threads at the same moment

        def vend(i: int) -> Vend:
            k = i % distinct
            return do_vend(
                account=accounts[k % len(accounts)],
                actor=cashiers[k % len(cashiers)],
                point=point,
                amount=Decimal("10.00") + k,
                idempotency_key=f"race-{k}",
            )

        results = _race(n, vend)
        assert [r for r in results if isinstance(r, Exception)] == []
        by_key = {}
        for r in results:
            by_key.setdefault(r.idempotency_key, set()).add(r.pk)  # type: ignore[union-attr]
        assert all(len(pks) == 1 for pks in by_key.values()) and len(by_key) == distinct
        assert Vend.objects.count() == distinct
        numbers = list(Receipt.objects.filter(point=point).values_list("number", flat=True))
        assert sorted(numbers) == list(range(1, distinct + 1))
        tids = Counter(IssuedToken.objects.values_list("meter_id", "tid"))
        assert len(tids) == distinct and max(tids.values()) == 1
        for acc in accounts:
            paid = sum(v.amount for v in Vend.objects.filter(account=acc))
            spent = sum(Decimal(v.breakdown["total"]) for v in Vend.objects.filter(account=acc))
            assert ledger.balance_of(acc) == paid - spent
        assert services.check() == []

    def test_an_agents_float_moves_exactly_under_simultaneous_sales_and_top_ups(
        self, pg_transactional, store
    ):
        """Sales draw on the float in the statement that takes their receipt number; top-ups move it as
        they write their entries: the float's ledger chains, and its position is its newest entry."""
        w, admin, accounts = _sts_site()
        agent = VendingPoint.objects.create(
            site=w.site, code="ag1", name="Corner shop", kind=PointKind.AGENT, uses_float=True
        )
        do_topup_float(point=agent, amount="500.00", actor=admin, idempotency_key="float-0")
        cashier = f.user(memberships=[(w.group, w.site, "cashier")])
        n = 16

        def work(i: int) -> object:
            if i % 4 == 3:  # a quarter are top-ups
                return do_topup_float(point=agent, amount="25.00", actor=admin, idempotency_key=f"float-{i}")
            return do_vend(
                account=accounts[i % len(accounts)],
                actor=cashier,
                point=agent,
                amount=Decimal("10.00") + i,
                idempotency_key=f"agent-{i}",
            )

        results = _race(n, work)
        assert [r for r in results if isinstance(r, Exception)] == []
        sold = sum(v.amount for v in Vend.objects.filter(point=agent))
        seqs = sorted(agent.float_entries.values_list("seq", flat=True))
        assert seqs == list(range(1, n + 2))  # the first top-up, then one entry each
        row = VendingPoint.objects.get(pk=agent.pk)
        newest = agent.float_entries.get(seq=n + 1)
        assert (row.float_seq, row.float_balance) == (n + 1, newest.balance_after)
        assert row.float_balance == Decimal("500.00") + 4 * Decimal("25.00") - sold
        assert services.check() == []
