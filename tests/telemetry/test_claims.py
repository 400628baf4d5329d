"""Claiming due meters: several pollers side by side never poll one meter twice (PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from prepay.telemetry.models import MeterLink
from prepay.telemetry.poller import Poller
from tests import factories as f


def _links(n: int) -> list[int]:
    w = f.site_world()
    now = timezone.now() - timedelta(seconds=1)
    ids = []
    for _ in range(n):
        m = f.meter(w, protocol="dlt645", comm_params={"host": "127.0.0.1", "port": 1, "address": "1"})
        ids.append(MeterLink.objects.create(meter=m, next_poll_at=now).pk)
    return ids


class TestClaims:
    def test_it_claims_only_due_unclaimed_networked_links(self, db):
        due = _links(3)
        w = f.site_world()
        not_networked = MeterLink.objects.create(meter=f.meter(w), next_poll_at=timezone.now()).pk
        later = MeterLink.objects.create(
            meter=f.meter(w, protocol="dlt645"), next_poll_at=timezone.now() + timedelta(hours=1)
        ).pk
        p = Poller(name="p1", batch=10)
        claimed = p._claim(timezone.now(), None)
        assert sorted(claimed) == sorted(due)
        assert not_networked not in claimed and later not in claimed
        assert p._claim(timezone.now(), None) == []  # still leased
        assert set(MeterLink.objects.filter(pk__in=due).values_list("claimed_by", flat=True)) == {"p1"}

    def test_an_expired_lease_is_claimed_again(self, db):
        due = _links(1)
        MeterLink.objects.filter(pk__in=due).update(claimed_until=timezone.now() - timedelta(seconds=1))
        assert Poller(batch=10)._claim(timezone.now(), None) == due

    def test_pollers_side_by_side_claim_disjoint_sets(self, pg_transactional):
        ids = _links(60)
        results: list[list[int]] = []
        barrier = threading.Barrier(4)

        def claim(name: str) -> None:
            try:
                barrier.wait()
                got: list[int] = []
                while batch := Poller(name=name, batch=7)._claim(timezone.now(), None):
                    got += batch
                results.append(got)
            finally:
                connection.close()

        threads = [threading.Thread(target=claim, args=(f"p{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        claimed = [pk for r in results for pk in r]
        assert sorted(claimed) == sorted(ids)  # every link once, none twice
