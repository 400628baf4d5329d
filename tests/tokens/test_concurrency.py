"""Many simultaneous vends for one meter get distinct TIDs (PostgreSQL, real threads and connections)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from prepay.domain.tokens.sts.meter import MeterDecoder
from prepay.tokens import actions as t
from prepay.tokens.models import IssuedToken
from tests import factories as f
from tests.meters.test_concurrency import _race
from tests.tokens.conftest import CTSA01_DK, CTSA01_VK

pytestmark = pytest.mark.services


class ConcurrentTidTestCase:
    def test_it_gives_simultaneous_vends_distinct_tids(self, pg_transactional, store):
        w = f.site_world()
        admin = f.user(memberships=[(w.group, None, "admin")])
        cashiers = [f.user(memberships=[(w.group, w.site, "cashier")]) for _ in range(8)]
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
        meter = f.meter(w, drn="00000000000", supply_group_code="123456", tariff_index="01")
        n = 24
        results = _race(
            n,
            lambda i: t.do_issue_credit_token(
                meter=meter, amount=Decimal("1.5"), actor=cashiers[i % len(cashiers)], reason=f"vend {i}"
            ),
        )
        errors = [r for r in results if isinstance(r, Exception)]
        assert errors == []
        tids = sorted(r.tid for r in results)  # type: ignore[union-attr]
        assert len(set(tids)) == n
        assert IssuedToken.objects.filter(meter=meter).count() == n
        decoder = MeterDecoder(decoder_key=int(CTSA01_DK, 16), base_date=2014)
        assert all(
            decoder.enter(tok.token).accepted
            for tok in IssuedToken.objects.filter(meter=meter).order_by("tid")
        )
        assert decoder.credit(0) == Decimal("1.5") * n
