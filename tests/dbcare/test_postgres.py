"""pg_dump / pg_restore round trip and VACUUM on a real PostgreSQL server.

The live test database is never restored over: it is dumped, and the dump is restored into a
scratch database created (and dropped) on the same server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction

from prepay.audit.chain import verify_log
from prepay.dbcare import services
from prepay.meters.actions import do_register_meter
from prepay.vending import ledger
from prepay.vending.models import EntryKind
from tests import factories as f
from tests.conftest import require_services
from tests.dbcare.test_check import audited

pytestmark = pytest.mark.services

TABLES = [
    "tenancy_site",
    "customers_account",
    "meters_meter",
    "vending_ledgerentry",
    "audit_auditevent",
    "audit_audithead",
    "auth_user",
]


def _unavailable(reason: str) -> None:
    if require_services():
        pytest.fail(f"PREPAY_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def _psql(db: dict[str, Any], sql: str) -> None:
    env, args = services._pg_env_and_args(db)
    subprocess.run(
        ["psql", *args, "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )


def _connect(db: dict[str, Any]) -> Any:
    """A psycopg connection to the database ``db`` describes (Django's settings keys)."""
    import psycopg

    kw = {
        k: v
        for k, v in {
            "host": db.get("HOST"),
            "port": db.get("PORT"),
            "user": db.get("USER"),
            "password": db.get("PASSWORD"),
            "dbname": db["NAME"],
        }.items()
        if v
    }
    return psycopg.connect(**kw)


def _counts(db: dict[str, Any]) -> dict[str, int]:
    with _connect(db) as conn:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}  # noqa: S608


@pytest.fixture
def pg(pg_transactional):
    """The live test database's settings; PostgreSQL only (skipped at collection elsewhere)."""
    for tool in ("pg_dump", "pg_restore", "psql"):
        if shutil.which(tool) is None:
            _unavailable(f"{tool} is not on PATH (install postgresql-client)")
    return services.db_settings()


@pytest.fixture
def scratch(pg):
    """A fresh, empty database on the same server, dropped afterwards."""
    db = dict(pg, NAME=f"prepay_scratch_{os.getpid()}")
    try:
        _psql(db, f'DROP DATABASE IF EXISTS "{db["NAME"]}"')
        _psql(db, f'CREATE DATABASE "{db["NAME"]}"')
    except subprocess.CalledProcessError as exc:
        _unavailable(f"cannot create a scratch database on the PostgreSQL server: {exc.stderr.strip()}")
    yield db
    _psql(db, f'DROP DATABASE IF EXISTS "{db["NAME"]}" WITH (FORCE)')


class PostgresBackupRestoreTestCase:
    def test_it_round_trips_through_pg_dump_and_pg_restore(self, world, scratch, tmp_path):
        acc = f.account(world.a1)
        with transaction.atomic():
            ledger.post(acc, EntryKind.PAYMENT, Decimal("88.00"), actor=world.cashier)
        for i in range(3):
            do_register_meter(site=world.a1.site, serial=f"PG{i}", model=world.a1.single, actor=world.admin)
        path = services.backup(tmp_path, db=services.db_settings())
        assert path.suffix == ".dump" and path.read_bytes()[:5] == b"PGDMP"

        pre = services.restore(path, db=scratch, pre_restore_dir=tmp_path / "pre")

        assert pre is not None and pre.name.startswith("pre-restore-")
        live = _counts(services.db_settings())
        assert live["audit_auditevent"] == 3 and live["vending_ledgerentry"] == 1
        assert _counts(scratch) == live
        # restoring again over the now-populated scratch database (--clean) gives the same result
        services.restore(path, db=scratch, pre_restore_dir=tmp_path / "pre")
        assert _counts(scratch) == live

    def test_it_round_trips_partitioned_readings_and_their_archive(self, world, scratch, tmp_path):
        from prepay.billing import jobs
        from prepay.telemetry import partitions
        from tests.billing.conftest import at, meter_of, read, remote_account

        acc = remote_account(world.a1, start=at(2026, 1, 1))
        partitions.ensure(now=at(2026, 1, 5), ahead=1)
        read(meter_of(acc), at(2026, 1, 10), "1")
        read(meter_of(acc), at(2026, 2, 10), "2")
        jobs.charge_due()
        try:
            assert partitions.retain(3, now=at(2026, 5, 2))[0] == ["telemetry_meterreading_p202601"]
            path = services.backup(tmp_path, db=services.db_settings())
            for _ in range(2):  # into the empty database, then over what the first restore made
                services.restore(path, db=scratch, pre_restore_dir=tmp_path / "pre")
                with _connect(scratch) as conn:
                    home = conn.execute(
                        "SELECT tableoid::regclass::text, register FROM telemetry_meterreading"
                    ).fetchall()
                    kept = conn.execute(
                        f"SELECT register FROM {partitions.ARCHIVE_SCHEMA}.telemetry_meterreading_p202601"
                    ).fetchall()
                    public = conn.execute(
                        "SELECT pg_get_userbyid(nspowner), has_schema_privilege('public', oid, 'USAGE') "
                        "FROM pg_namespace WHERE nspname = 'public'"
                    ).fetchone()
                assert home == [("telemetry_meterreading_p202602", 2000)] and kept == [(1000,)]
                assert public == ("pg_database_owner", True)  # as PostgreSQL makes it
            assert not list((tmp_path / "pre").glob("restore-*"))  # the SQL script is not left behind
        finally:
            with connection.cursor() as c:  # committed DDL: leave no archive to the next tests
                c.execute(f"DROP SCHEMA IF EXISTS {partitions.ARCHIVE_SCHEMA} CASCADE")

    def test_it_brings_back_the_append_only_trigger(self, world, scratch, tmp_path):
        path = services.backup(tmp_path, db=services.db_settings())
        services.restore(path, db=scratch, pre_restore_dir=tmp_path / "pre")
        with _connect(scratch) as conn:
            enabled = conn.execute(
                "SELECT tgenabled FROM pg_trigger WHERE tgname = 'audit_event_append_only'"
            ).fetchone()
        assert enabled == ("O",)

    def test_it_refuses_a_file_that_is_not_a_dump(self, scratch, tmp_path):
        junk = tmp_path / "junk.dump"
        junk.write_bytes(b"SQLite format 3\x00")
        with pytest.raises(services.DbCareError, match="not a pg_dump"):
            services.restore(junk, db=scratch, pre_restore_dir=tmp_path)

    def test_it_reports_the_tools_error_without_the_password(self, pg, tmp_path):
        wrong = dict(pg, NAME="prepay_no_such_db", PASSWORD="s3cret-Pa55")
        with pytest.raises(services.DbCareError) as info:
            services.backup(tmp_path, db=wrong)
        assert "pg_dump failed" in str(info.value) and "s3cret-Pa55" not in str(info.value)
        assert not list(tmp_path.iterdir())


class PostgresCompactCheckTestCase:
    def test_it_vacuums_outside_a_transaction_and_reports_sizes(self, pg):
        before, after = services.compact()
        assert before > 0 and after > 0

    def test_it_checks_committed_data_and_the_audit_chain_outside_a_transaction(self, pg, world):
        assert not connection.in_atomic_block  # the snapshot (REPEATABLE READ) and server-side cursor paths
        acc = f.account(world.a1)
        audited(world.cashier, (acc, EntryKind.PAYMENT, "1.00"))  # a posting and its audit event
        do_register_meter(site=world.a1.site, serial="PGC", model=world.a1.single, actor=world.admin)
        assert services.check() == []
        assert verify_log().count == 2
        with transaction.atomic():  # a posting outside any action is found on PostgreSQL too
            ledger.post(acc, EntryKind.PAYMENT, Decimal("2.00"), actor=world.cashier)
        assert [x.area for x in services.check()] == ["unaudited"]
