"""Row locks under real concurrency: PostgreSQL only (SQLite allows one writer at a time anyway)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connections

from prepay.audit.chain import verify_rows
from prepay.audit.models import AuditEvent, AuditHead
from prepay.common.errors import ActionError
from prepay.meters.actions import do_assign_meter
from prepay.meters.models import Installation
from tests import factories as f

pytestmark = pytest.mark.services


def _race(n: int, target) -> list[object]:
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = target(i)
        except Exception as exc:  # noqa: BLE001 - collected and asserted on below
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


class ConcurrentAssignTestCase:
    def test_it_installs_one_meter_only_once_when_many_clerks_race(self, pg_transactional):
        w = f.site_world()
        clerk = f.user(memberships=[(w.group, w.site, "clerk")])
        meter = w.meters[0]
        accounts = [f.account(w, unit=u) for u in w.units]
        results = _race(
            len(accounts),
            lambda i: do_assign_meter(
                account=accounts[i], meter=meter, opening_reading=Decimal("1"), actor=clerk
            ),
        )
        wins = [r for r in results if isinstance(r, Installation)]
        losses = [r for r in results if isinstance(r, ActionError)]
        assert len(wins) == 1, results
        assert len(losses) == len(accounts) - 1 and {e.code for e in losses} == {"already_installed"}
        assert Installation.objects.filter(meter=meter, ended_at__isnull=True).count() == 1

    def test_it_keeps_the_audit_chain_contiguous_under_concurrent_writers(self, pg_transactional):
        w = f.site_world()
        clerk = f.user(memberships=[(w.group, w.site, "clerk")])
        accounts = [f.account(w, unit=u) for u in w.units[:3]]
        results = _race(
            3,
            lambda i: do_assign_meter(
                account=accounts[i], meter=w.meters[i], opening_reading=Decimal("0"), actor=clerk
            ),
        )
        assert all(isinstance(r, Installation) for r in results), results
        head = AuditHead.objects.get(id=w.site.pk)  # the site's chain
        rows = AuditEvent.objects.filter(chain=w.site.pk).order_by("seq").values()
        checked, problem = verify_rows(rows, head.seq, head.hash)
        assert (checked, problem) == (3, None)
