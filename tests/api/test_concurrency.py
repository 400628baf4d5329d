"""Many API clients vending to the same few accounts at once, retrying the same idempotency keys
(PostgreSQL, real threads, one Django test Client and connection per thread): no lost update, no
double vend, no duplicate receipt number or TID, the float and the journal exact."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from django.test import Client

from prepay.api.actions import do_create_api_client
from prepay.dbcare import services
from prepay.tokens import actions as t
from prepay.tokens.models import IssuedToken
from prepay.vending import ledger
from prepay.vending.actions import do_open_shift, do_topup_float
from prepay.vending.models import AgentFloatEntry, Receipt, Vend, VendingPoint
from tests import factories as f
from tests.api.conftest import Api
from tests.meters.test_concurrency import _race
from tests.tokens.conftest import CTSA01_VK

pytestmark = pytest.mark.services


class ConcurrentApiVendTestCase:
    def test_simultaneous_api_vends_and_retries_are_exact(self, pg_transactional, store):
        w = f.site_world()
        admin = f.user(memberships=[(w.group, None, "admin")])
        finance = f.user(memberships=[(w.group, None, "finance")])
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
        counter = VendingPoint.objects.create(site=w.site, code="c1", name="Counter 1")
        agents = [
            VendingPoint.objects.create(
                site=w.site, code=f"ag{i}", name=f"Agent {i}", kind="agent", uses_float=True
            )
            for i in range(2)
        ]
        for i, agent in enumerate(agents):
            do_topup_float(point=agent, amount="10000", actor=finance, idempotency_key=f"seed-{i}")
        callers: list[Api] = []
        for i, agent in enumerate(agents):
            _c, key = do_create_api_client(
                group=w.group,
                site=w.site,
                point=agent,
                name=f"ch{i}",
                scopes=["vend"],
                roles=["cashier"],
                actor=admin,
            )
            callers.append(Api(key))
        cashiers = [f.user(memberships=[(w.group, w.site, "cashier")]) for _ in range(2)]
        for c in cashiers:
            do_open_shift(point=counter, actor=c)
        accounts = [
            f.account(
                w, unit=u, meter_=f.meter(w, drn="00000000000", supply_group_code="123456", tariff_index="01")
            )
            for u in w.units[:3]
        ]
        n_callers = len(callers) + len(cashiers)
        n, distinct = 32, 16  # every (caller, key) is sent twice, by two threads at the same moment

        def vend(i: int) -> tuple[int, dict]:
            k = i % distinct
            who = k % n_callers
            if who < len(callers):
                api = Api(callers[who].key, Client())
            else:
                http = Client()
                http.force_login(cashiers[who - len(callers)])
                api = Api(client=http)
            r = api.post(
                "/vends",
                {"account_id": accounts[k % len(accounts)].pk, "amount": str(Decimal("10.00") + k)},
                idem=f"race-{k}",
            )
            return r.status, r.data

        results = _race(n, vend)
        assert [r for r in results if not isinstance(r, tuple) or r[0] != 201] == []
        by_key: dict[int, set[int]] = {}
        for i, (_status, data) in enumerate(results):  # type: ignore[misc]
            by_key.setdefault(i % distinct, set()).add(data["id"])
        assert all(len(ids) == 1 for ids in by_key.values()) and len(by_key) == distinct
        assert Vend.objects.count() == distinct  # no double vend
        for point in [counter, *agents]:
            numbers = sorted(Receipt.objects.filter(point=point).values_list("number", flat=True))
            assert numbers == list(range(1, len(numbers) + 1))  # gap-free, no duplicate
        assert Receipt.objects.count() == distinct
        tids = Counter(IssuedToken.objects.values_list("meter_id", "tid"))
        assert len(tids) == distinct and max(tids.values()) == 1
        for acc in accounts:  # no lost update: balance == Σ ledger == paid − spent
            vends = Vend.objects.filter(account=acc)
            paid = sum(v.amount for v in vends)
            spent = sum(Decimal(v.breakdown["total"]) for v in vends)
            assert ledger.balance_of(acc) == sum(e.amount for e in acc.ledger.all()) == paid - spent
        for agent in agents:
            sold = sum(v.amount for v in Vend.objects.filter(point=agent))
            last = AgentFloatEntry.objects.filter(point=agent).order_by("-seq").first()
            assert last is not None and last.balance_after == Decimal("10000.00") - sold
        assert services.check() == []
