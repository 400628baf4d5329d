"""Reports on a read replica (PREPAY_REPLICA_URL): the router, the lag on the page, a replica down.

The router's rules are checked everywhere; the reports are read from a real PostgreSQL standby
(streaming replication of the primary) in CI's replica stage (.ci/run starts it on port 5433).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import DatabaseError, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from prepay.common import replica
from prepay.vending.models import Vend

ROOT = Path(__file__).resolve().parents[2]
SALES = reverse("reports:report", args=["sales"])


class RouterTestCase:
    def test_reads_go_to_the_primary_outside_a_report(self):
        assert replica.ReplicaRouter().db_for_read(Vend) is None

    def test_reads_in_a_report_go_to_the_replica_and_writes_never(self):
        router = replica.ReplicaRouter()
        token = replica._reading.set(True)
        try:
            assert not connections["default"].in_atomic_block
            assert router.db_for_read(Vend) == "replica"
            assert router.db_for_write(Vend) == "default"
        finally:
            replica._reading.reset(token)

    @pytest.mark.django_db
    def test_inside_a_transaction_on_the_primary_reads_stay_there(self):
        token = replica._reading.set(True)
        try:
            assert connections["default"].in_atomic_block  # the test's transaction
            assert replica.ReplicaRouter().db_for_read(Vend) is None
        finally:
            replica._reading.reset(token)

    def test_the_replica_is_never_migrated(self):
        router = replica.ReplicaRouter()
        assert router.allow_migrate("default", "vending") and not router.allow_migrate("replica", "vending")

    def test_without_a_replica_reports_read_the_primary(self, monkeypatch):
        monkeypatch.setattr(replica, "configured", lambda: False)
        with replica.reading_reports() as where:
            assert where == replica.ReplicaStatus(configured=False)
            assert replica.ReplicaRouter().db_for_read(Vend) is None

    def test_a_replica_needs_postgresql(self, tmp_path):
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
            "PREPAY_REPLICA_URL": "postgres://postgres@127.0.0.1:5433/prepay",
            "PREPAY_VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "prepay.settings",
        }
        done = subprocess.run(
            [sys.executable, "-c", "import django; django.setup()"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode != 0
        assert "PREPAY_REPLICA_URL needs PostgreSQL" in done.stderr


STANDBY = "PREPAY_REPLICA_URL" in os.environ
#: CI's replica stage sets PREPAY_REQUIRE_REPLICA=1: there a missing standby fails instead of skipping
NO_STANDBY = "needs a PostgreSQL standby in PREPAY_REPLICA_URL: runs in CI's replica stage (.ci/run)"


def _caught_up(pk: int) -> None:
    """Wait until the replica has replayed the sale ``pk`` (streaming replication is asynchronous)."""
    for _ in range(100):
        if Vend.objects.using("replica").filter(pk=pk).exists():
            return
        time.sleep(0.1)
    raise AssertionError("the replica did not receive the sale within 10 s")


@pytest.mark.skipif(not STANDBY and os.environ.get("PREPAY_REQUIRE_REPLICA") != "1", reason=NO_STANDBY)
@pytest.mark.django_db(transaction=True, databases=["default", "replica"] if STANDBY else ["default"])
class ReplicaReportsTestCase:
    def test_the_standby_is_configured(self):
        assert replica.configured(), NO_STANDBY

    def test_a_report_reads_the_replica_and_shows_its_lag(self, client, sales):
        newest = Vend.objects.order_by("-pk").first()
        _caught_up(newest.pk)
        client.force_login(sales.world.finance)
        with (
            CaptureQueriesContext(connections["default"]) as primary,
            CaptureQueriesContext(connections["replica"]) as standby,
        ):
            page = client.get(SALES)
        assert page.status_code == 200
        assert page.wsgi_request.replica.used and page.wsgi_request.replica.lag is not None
        assert "Read from the read replica" in page.content.decode()
        assert any("vending_vend" in q["sql"] for q in standby.captured_queries)
        assert not any("vending_vend" in q["sql"] for q in primary.captured_queries)
        # the same figures as the primary holds (tests/reports/test_sales_detail.py)
        assert page.context["data"].totals["amount"] == Decimal("170.75")

    def test_the_standby_takes_no_write(self):
        with pytest.raises(DatabaseError), connections["replica"].cursor() as cur:
            cur.execute("CREATE TABLE prepay_replica_probe (i int)")

    def test_a_replica_that_cannot_be_reached_leaves_the_report_on_the_primary(self, client, sales):
        standby = connections["replica"]
        port = standby.settings_dict["PORT"]
        standby.close()
        standby.settings_dict["PORT"] = "1"  # nothing listens there
        try:
            client.force_login(sales.world.finance)
            page = client.get(SALES)
        finally:
            standby.close()
            standby.settings_dict["PORT"] = port
        assert page.status_code == 200
        assert page.wsgi_request.replica.unavailable
        assert "cannot be reached" in page.content.decode()
        assert page.context["data"].rows  # read from the primary
