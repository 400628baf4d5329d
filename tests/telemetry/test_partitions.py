"""Readings in monthly partitions on PostgreSQL: made ahead, stray readings moved into their month,
charges and the daily analysis read only the months they need (EXPLAIN ANALYZE of the statements they
really issue), old months archived but never one with readings still to charge (issue 18)."""

from __future__ import annotations

import json
from datetime import date, datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from prepay.analytics.daily import summarise
from prepay.billing import jobs
from prepay.telemetry import partitions
from prepay.telemetry.models import MeterReading
from tests.billing.conftest import at, meter_of, read, remote_account

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="readings are partitioned on PostgreSQL only (CI stage 2)"
)


def _months(first: date, n: int) -> None:
    """Partitions for ``n`` months from ``first``."""
    partitions.ensure(now=at(first.year, first.month, 15), ahead=n - 1)


def _home(reading_id: int) -> str:
    with connection.cursor() as c:
        c.execute(f"SELECT tableoid::regclass::text FROM {partitions.TABLE} WHERE id = %s", [reading_id])
        return c.fetchone()[0]


def _scanned(queries: list[dict[str, Any]]) -> set[str]:
    """The reading partitions the captured statements really read: EXPLAIN ANALYZE each one that names
    the readings table (in a savepoint rolled back: a write is not done twice) and collect the
    partitions of plan nodes that ran at least once."""
    seen: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        name = node.get("Relation Name", "")
        if name.startswith(partitions.TABLE + "_") and node.get("Actual Loops", 0) > 0:
            seen.add(name)
        for child in node.get("Plans", []):
            walk(child)

    for q in queries:
        sql = q["sql"]
        if partitions.TABLE not in sql or sql.lstrip().upper().startswith(
            ("SAVEPOINT", "RELEASE", "ROLLBACK")
        ):
            continue
        with transaction.atomic(), connection.cursor() as c:
            c.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
            plan = c.fetchone()[0]
            transaction.set_rollback(True)
        walk((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])
    return seen


@on_postgres
class PartitionsTestCase:
    def test_the_migration_made_this_month_and_two_ahead(self, db: Any) -> None:
        assert partitions.partitioned()
        names = [p.name for p in partitions.listing()]
        # made with the test database: this month and the next at least, whatever the suite's clock
        this = partitions.month_start(timezone.localdate())
        ahead = [partitions.name_of(partitions.add_months(this, i)) for i in range(2)]
        assert set(ahead) <= set(names) and names[-1] == partitions.DEFAULT
        with connection.cursor() as c:
            c.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary",
                [partitions.TABLE],
            )
            assert {r[0] for r in c.fetchall()} == {"id", "read_at"}

    def test_a_reading_lands_in_its_month_and_strays_move_in_when_their_month_is_made(
        self, world: Any
    ) -> None:
        acc = remote_account(world.a1)
        m = meter_of(acc)
        _months(date(2026, 3, 1), 2)
        # the month's first instant in local time belongs to it, its last instant too
        first, last = (
            read(m, at(2026, 3, 1), "1"),
            read(m, datetime.fromisoformat("2026-03-31T23:59:59+08:00"), "2"),
        )
        april = read(m, at(2026, 4, 1), "3")
        stray = read(m, at(2026, 1, 20), "0.5")
        assert [_home(r.pk) for r in (first, last, april, stray)] == [
            "telemetry_meterreading_p202603",
            "telemetry_meterreading_p202603",
            "telemetry_meterreading_p202604",
            partitions.DEFAULT,
        ]
        before = sorted(MeterReading.objects.values_list("pk", "read_at", "register"))
        made = partitions.ensure(now=at(2026, 3, 2), ahead=1)  # March and April exist: January is a stray
        assert made == ["telemetry_meterreading_p202601"]
        assert _home(stray.pk) == "telemetry_meterreading_p202601"
        assert sorted(MeterReading.objects.values_list("pk", "read_at", "register")) == before
        assert partitions.ensure(now=at(2026, 3, 2), ahead=1) == []  # nothing left to make

    def test_charging_reads_only_the_months_it_charges(self, world: Any) -> None:
        _months(date(2026, 1, 1), 6)
        acc = remote_account(world.a1, start=at(2026, 3, 1))
        m = meter_of(acc)
        for day, reg in [(2, "5"), (20, "9"), (31, "12")]:
            read(m, at(2026, 3, day, 12), reg)
        read(m, at(2026, 4, 1, 6), "14")
        read(m, at(2026, 5, 10), "20")  # after the charge's end: not read
        with CaptureQueriesContext(connection) as seen:
            jobs.charge_due()
        charged = acc.charges.order_by("-period_end").first()
        assert charged is not None and charged.period_end == at(2026, 5, 10)
        scanned = _scanned(seen.captured_queries)
        # installed in March: January and February are never read
        assert "telemetry_meterreading_p202603" in scanned
        assert scanned.isdisjoint({"telemetry_meterreading_p202601", "telemetry_meterreading_p202602"}), (
            scanned
        )
        # the next pass looks for readings after the last charge (10 May) only: not March nor April
        with CaptureQueriesContext(connection) as seen:
            assert jobs.charge_due() == 0
        scanned = _scanned(seen.captured_queries)
        assert "telemetry_meterreading_p202605" in scanned
        assert scanned.isdisjoint({f"telemetry_meterreading_p20260{m}" for m in range(1, 5)}), scanned

    def test_the_daily_analysis_reads_only_its_day_s_month(self, world: Any) -> None:
        _months(date(2026, 1, 1), 6)
        acc = remote_account(world.a1, start=at(2026, 1, 1))
        m = meter_of(acc)
        for month in range(1, 7):
            read(m, at(2026, month, 10, 8), str(month * 10))
            read(m, at(2026, month, 10, 20), str(month * 10 + 4))
        for lateral in (False, True):
            with transaction.atomic(), CaptureQueriesContext(connection) as seen:
                assert summarise(world.a1.site.pk, date(2026, 4, 10), lateral=lateral) == 1
                transaction.set_rollback(True)  # its statements are replayed below
            assert _scanned(seen.captured_queries) == {"telemetry_meterreading_p202604"}

    def test_retention_archives_old_months_but_not_one_still_to_charge(self, world: Any) -> None:
        _months(date(2026, 1, 1), 6)
        acc = remote_account(world.a1, start=at(2026, 1, 1))
        m = meter_of(acc)
        read(m, at(2026, 1, 10), "1")
        jobs.charge_due()  # January charged
        read(m, at(2026, 2, 10), "2")  # February not yet
        read(m, at(2026, 5, 10), "5")
        done, kept = partitions.retain(3, now=at(2026, 7, 2))  # April, May, June stay
        assert done == ["telemetry_meterreading_p202601", "telemetry_meterreading_p202603"]  # March: empty
        assert kept == ["telemetry_meterreading_p202602"]
        assert "telemetry_meterreading_p202601" in partitions.archived()
        with connection.cursor() as c:
            c.execute(f"SELECT register FROM {partitions.ARCHIVE_SCHEMA}.telemetry_meterreading_p202601")
            assert [r[0] for r in c.fetchall()] == [1000]  # the stored register (three decimals)
        assert MeterReading.objects.filter(meter=m).count() == 2
        jobs.charge_due()  # February and May charged from the cursor: January is not needed
        assert acc.charges.order_by("-period_end").first().period_end == at(2026, 5, 10)
        done, kept = partitions.retain(3, now=at(2026, 7, 2))
        assert (done, kept) == (["telemetry_meterreading_p202602"], [])
        assert list(MeterReading.objects.filter(meter=m).values_list("read_at", flat=True)) == [
            at(2026, 5, 10)
        ]

    def test_a_month_archived_again_adds_to_its_archive(self, world: Any) -> None:
        acc = remote_account(world.a1, start=at(2026, 1, 1))
        m = meter_of(acc)
        _months(date(2026, 1, 1), 1)
        read(m, at(2026, 1, 10), "1")
        jobs.charge_due()
        assert partitions.retain(3, now=at(2026, 6, 1))[0] == ["telemetry_meterreading_p202601"]
        late = read(m, at(2026, 1, 11), "2")  # a late reading of an archived month: in the default
        assert _home(late.pk) == partitions.DEFAULT
        partitions.ensure(now=at(2026, 1, 1), ahead=0)
        jobs.charge_due()
        assert partitions.retain(3, now=at(2026, 6, 1))[0] == ["telemetry_meterreading_p202601"]
        with connection.cursor() as c:
            c.execute(f"SELECT count(*) FROM {partitions.ARCHIVE_SCHEMA}.telemetry_meterreading_p202601")
            assert c.fetchone()[0] == 2

    def test_the_command_lists_makes_and_archives(self, world: Any) -> None:
        out = StringIO()
        call_command("db", "partitions", stdout=out)
        assert partitions.DEFAULT in out.getvalue()
        with pytest.raises(CommandError, match="3"):
            call_command("db", "partitions", retain=2, stdout=StringIO())


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the one-table case is SQLite's")
def test_sqlite_keeps_one_table(db: Any) -> None:
    assert not partitions.partitioned()
    assert partitions.ensure() == [] and partitions.retain(3) == ([], [])
    with pytest.raises(CommandError, match="PostgreSQL"):
        call_command("db", "partitions", stdout=StringIO())
