"""Many cashiers vending to the same few accounts at once, retrying the same idempotency keys
(PostgreSQL, real threads and connections): no lost update, no double vend, no duplicate receipt or TID."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from prepay.dbcare import services
from prepay.tokens import actions as t
from prepay.tokens.models import IssuedToken
from prepay.vending import ledger
from prepay.vending.actions import do_open_shift, do_vend
from prepay.vending.models import Receipt, Vend, VendingPoint
from tests import factories as f
from tests.meters.test_concurrency import _race
from tests.tokens.conftest import CTSA01_VK

pytestmark = pytest.mark.services


class ConcurrentVendTestCase:
    def test_simultaneous_vends_and_retries_are_exact(self, pg_transactional, store):
        w = f.site_world()
        admin = f.user(memberships=[(w.group, None, "admin")])
        t.do_import_vending_keys(
            group=w.group,
            actor=admin,
            rows=[
                {
                    "dkga": "02",
                    "supply_group_code": "123456",
                    "key_revision": 1,
                    "key_type": 2,
                    "key": CTSA01_VK,
                }
            ],
        )
        point = VendingPoint.objects.create(site=w.site, code="c1", name="Counter 1")
        cashiers = [f.user(memberships=[(w.group, w.site, "cashier")]) for _ in range(4)]
        for c in cashiers:
            do_open_shift(point=point, actor=c)
        accounts = [
            f.account(
                w, unit=u, meter_=f.meter(w, drn="00000000000", supply_group_code="123456", tariff_index="01")
            )
            for u in w.units[:3]
        ]
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
