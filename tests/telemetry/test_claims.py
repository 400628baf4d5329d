"""Claiming due meters: several pollers side by side never poll one meter twice (PostgreSQL), and the
meters behind one gateway, serial server or DTU are polled by one poller at a time (issue 18)."""

from __future__ import annotations

import socket
import threading
from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from prepay.meters.drivers.base import Target
from prepay.meters.drivers.registry import channel_of
from prepay.telemetry.models import ChannelClaim, MeterLink
from prepay.telemetry.poller import Poller
from tests import factories as f


def _links(n: int, gateways: int | None = None, first_port: int = 1, **params: Any) -> list[int]:
    """``n`` due links of DL/T 645 meters spread over ``gateways`` serial servers (default: one each)
    on ports from ``first_port``; ``params`` instead put them all there (a DTU)."""
    w = f.site_world()
    now = timezone.now() - timedelta(seconds=1)
    ids = []
    for i in range(n):
        where = params or {"host": "127.0.0.1", "port": first_port + i % (gateways or n)}
        m = f.meter(w, protocol="dlt645", comm_params={**where, "address": f"{i:012d}"})
        ids.append(MeterLink.objects.create(meter=m, next_poll_at=now).pk)
    return ids


def _channel(link_id: int) -> str:
    link = MeterLink.objects.select_related("meter").get(pk=link_id)
    m = link.meter
    return channel_of(Target(m.pk, m.serial, m.protocol, m.comm_params))


def _release_links() -> None:
    MeterLink.objects.update(claimed_until=None, claimed_by="")


def _side_by_side(pollers: int, batch: int) -> dict[str, list[int]]:
    """Start ``pollers`` pollers at once, each claiming ``batch`` at a time until it finds nothing;
    the links each claimed, by poller name."""
    results: dict[str, list[int]] = {}
    barrier = threading.Barrier(pollers)

    def claim(name: str) -> None:
        try:
            barrier.wait()
            got: list[int] = []
            while some := Poller(name=name, batch=batch)._claim(timezone.now(), None):
                got += some
            results[name] = got
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(f"p{i}",)) for i in range(pollers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


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
        claimed = [pk for got in _side_by_side(4, batch=7).values() for pk in got]
        assert sorted(claimed) == sorted(ids)  # every link once, none twice


class TestChannels:
    def test_the_channel_is_the_gateway_the_dtu_or_nothing(self, db):
        def key(protocol: str, **params: Any) -> str:
            return channel_of(Target(1, "S1", protocol, params))

        assert key("dlt645", host="10.0.0.5", port=4001, address="1") == "tcp:10.0.0.5:4001"
        assert key("cjt188", host="10.0.0.5", port="4001") == "tcp:10.0.0.5:4001"
        assert key("modbus_tcp", host="10.0.0.6", unit=3) == "tcp:10.0.0.6:502"
        assert key("dlt645", dtu="D7", address="1") == "dtu:D7"
        assert key("mqtt", topic="m/1") == ""
        assert key("dlt645", address="1") == ""  # no port: the poll says so, nothing to hold

    def test_a_gateway_another_poller_holds_is_left_to_it_until_its_lease_runs_out(self, db):
        behind_one = _links(3, gateways=1)
        others = _links(2, first_port=100)
        held = _channel(behind_one[0])
        ChannelClaim.objects.create(
            key=held, claimed_until=timezone.now() + timedelta(minutes=1), claimed_by="p1"
        )
        claimed = Poller(name="p2", batch=10)._claim(timezone.now(), None)
        assert sorted(claimed) == sorted(others)
        assert set(ChannelClaim.objects.filter(claimed_by="p2").values_list("key", flat=True)) == {
            _channel(pk) for pk in others
        }
        ChannelClaim.objects.filter(key=held).update(claimed_until=timezone.now() - timedelta(seconds=1))
        assert sorted(Poller(name="p2", batch=10)._claim(timezone.now(), None)) == sorted(behind_one)
        assert ChannelClaim.objects.get(key=held).claimed_by == "p2"

    def test_a_poller_gives_its_channels_back_after_its_cycle(self, db):
        ids = _links(2, gateways=1)
        with Poller(name="p1", batch=10, timeout=0.2, retries=0) as p:
            summary = p.cycle()
        assert summary.claimed == 2 and summary.failed == 2  # nobody listens on port 1
        claim = ChannelClaim.objects.get(key=_channel(ids[0]))
        assert (claim.claimed_by, claim.claimed_until) == ("", None)

    def test_a_dtu_goes_to_the_poller_holding_its_connection(self, db):
        ids = _links(2, dtu="D1")
        with Poller(name="listener", batch=10, listen=("127.0.0.1", 0), timeout=1) as p:
            assert p.pool is not None and p.pool.dial_in is not None
            dtu = socket.create_connection(("127.0.0.1", p.pool.dial_in.port), timeout=5)
            try:
                dtu.sendall(b"D1\n")
                p.run(p.pool.dial_in.wait_for("D1", timeout=5))
                assert Poller(name="elsewhere", batch=10)._claim(timezone.now(), None) == []
                assert sorted(p._claim(timezone.now(), None)) == sorted(ids)
            finally:
                dtu.close()

    def test_a_dtu_nobody_holds_is_taken_once_overdue_by_a_lease(self, db):
        ids = _links(2, dtu="D2")
        lonely = Poller(name="p1", batch=10, lease=120)
        assert lonely._claim(timezone.now(), None) == []  # due, but its connection may be elsewhere
        MeterLink.objects.update(next_poll_at=timezone.now() - timedelta(seconds=121))
        assert sorted(lonely._claim(timezone.now(), None)) == sorted(
            ids
        )  # then polled: it fails and says why

    def test_pollers_side_by_side_never_share_a_gateway(self, pg_transactional):
        ids = _links(48, gateways=6)
        results = _side_by_side(4, batch=5)
        # a poller stops when its claim finds nothing claimable, which can be for a moment while the
        # others' claims lock the rows it would take: its next cycle takes them
        for name, got in results.items():
            while batch := Poller(name=name, batch=5)._claim(timezone.now(), None):
                got += batch
        claimed = [pk for r in results.values() for pk in r]
        assert sorted(claimed) == sorted(ids)  # every link once
        pollers_of: dict[str, set[str]] = defaultdict(set)
        for name, got in results.items():
            for pk in got:
                pollers_of[_channel(pk)].add(name)
        assert len(pollers_of) == 6 and all(len(names) == 1 for names in pollers_of.values()), pollers_of
