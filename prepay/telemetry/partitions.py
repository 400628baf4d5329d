"""Monthly partitions of the readings table on PostgreSQL.

On PostgreSQL ``telemetry_meterreading`` is partitioned by range of ``read_at``, one partition per
calendar month of ``TIME_ZONE`` (``telemetry_meterreading_p202612``), plus a default partition for
readings no monthly partition holds yet. The billing daemon keeps the current month and
:data:`AHEAD` months after it created (:func:`ensure`), moving into a new month's partition any
readings the default partition held for it; with ``PREPAY_READING_RETENTION_MONTHS`` set it detaches
months older than that many whole months into the ``prepay_archive`` schema (:func:`retain`) — never a
month holding readings an open remote account has not been charged for. Archived months stay in the
database (and its backups) until someone drops them; ``pg_dump -t`` takes one out first.

SQLite keeps one table: every function here does nothing there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

log = logging.getLogger(__name__)

TABLE = "telemetry_meterreading"
DEFAULT = f"{TABLE}_default"
ARCHIVE_SCHEMA = "prepay_archive"
AHEAD = 2  # months created after the current one
_LOCK = 0x70726570_61790001  # pg_advisory_xact_lock key: one maintainer at a time


@dataclass(frozen=True)
class Partition:
    name: str
    start: datetime | None  # None: the default partition
    end: datetime | None
    rows: int | None  # the planner's estimate (exact after ANALYZE; None before the first)
    size: int  # bytes


def month_start(d: date) -> date:
    return d.replace(day=1)


def add_months(d: date, n: int) -> date:
    m = d.year * 12 + d.month - 1 + n
    return date(m // 12, m % 12 + 1, 1)


def name_of(month: date) -> str:
    return f"{TABLE}_p{month:%Y%m}"


def create_sql(month: date) -> str:
    """``CREATE TABLE`` of a month's partition (the migration that partitioned the table uses it too).
    Its bounds are literals in the statement: PostgreSQL binds no parameters in DDL, so the statement
    must not depend on the driver quoting them on the client."""
    lo, hi = bounds(month)
    return (
        f"CREATE TABLE {name_of(month)} PARTITION OF {TABLE} "
        f"FOR VALUES FROM ('{lo.isoformat()}') TO ('{hi.isoformat()}')"
    )


def bounds(month: date) -> tuple[datetime, datetime]:
    """The instants a month's partition holds: [its first midnight, the next month's) in TIME_ZONE."""
    tz = ZoneInfo(settings.TIME_ZONE)
    return (
        datetime.combine(month, time(), tzinfo=tz),
        datetime.combine(add_months(month, 1), time(), tzinfo=tz),
    )


def partitioned() -> bool:
    """Whether the readings table is partitioned here (PostgreSQL after migration telemetry.0004)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as c:
        c.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)", [TABLE])
        return c.fetchone() is not None


def listing() -> list[Partition]:
    """The partitions attached now, oldest month first, the default partition last."""
    if not partitioned():
        return []
    with connection.cursor() as c:
        c.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples::bigint, "
            "pg_total_relation_size(c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname",
            [TABLE],
        )
        rows = c.fetchall()
    out = []
    for name, _bound, tuples, size in rows:
        month = _month_of(name)
        start, end = bounds(month) if month else (None, None)
        out.append(Partition(name, start, end, int(tuples) if tuples >= 0 else None, int(size)))
    out.sort(key=lambda p: (p.start is None, p.start or datetime.min.replace(tzinfo=ZoneInfo("UTC"))))
    return out


def archived() -> list[str]:
    """Names of the months detached into the archive schema."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as c:
        c.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename LIKE %s ORDER BY 1",
            [ARCHIVE_SCHEMA, f"{TABLE}_p%"],
        )
        return [r[0] for r in c.fetchall()]


def _month_of(name: str) -> date | None:
    tail = name.removeprefix(f"{TABLE}_p")
    if tail == name or len(tail) != 6 or not tail.isdigit():
        return None
    return date(int(tail[:4]), int(tail[4:]), 1)


def ensure(now: datetime | None = None, ahead: int = AHEAD) -> list[str]:
    """Create the partitions of the current month and ``ahead`` months after it, and of any month up to
    then the default partition holds readings for (their readings moved in). Returns the names made."""
    if not partitioned():
        return []
    today = timezone.localdate(now or timezone.now())
    last = add_months(month_start(today), ahead)
    wanted = {add_months(month_start(today), i) for i in range(ahead + 1)}
    made: list[str] = []
    with transaction.atomic(), connection.cursor() as c:
        c.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        c.execute(
            f"SELECT DISTINCT date_trunc('month', read_at AT TIME ZONE %s)::date FROM {DEFAULT}",  # noqa: S608
            [settings.TIME_ZONE],
        )
        stray = {d for (d,) in c.fetchall() if date(2000, 1, 1) <= d <= last}
        have = {p.name for p in listing()}
        for month in sorted(wanted | stray):
            if name_of(month) not in have:
                _create(c, month, move=month in stray)
                made.append(name_of(month))
    for name in made:
        log.info("readings partition %s created", name)
    return made


def _create(c, month: date, *, move: bool) -> None:  # type: ignore[no-untyped-def]
    lo, hi = bounds(month)
    if not move:
        c.execute(create_sql(month))
        return
    # a month's partition cannot be added while the default one holds rows of that month: take the
    # default partition off, add the month, move its rows across, put the default partition back
    c.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {DEFAULT}")
    c.execute(create_sql(month))
    c.execute(
        f"WITH moved AS (DELETE FROM {DEFAULT} WHERE read_at >= %s AND read_at < %s RETURNING *) "  # noqa: S608
        f"INSERT INTO {TABLE} SELECT * FROM moved",
        [lo, hi],
    )
    c.execute(f"ALTER TABLE {TABLE} ATTACH PARTITION {DEFAULT} DEFAULT")


def uncharged_in(start: datetime, end: datetime) -> bool:
    """Whether an open remote account has readings in ``[start, end)`` it has not been charged for."""
    from prepay.billing.jobs import uncharged_installations
    from prepay.customers.choices import AccountMode, AccountStatus

    pending = uncharged_installations(read_at__gte=start, read_at__lt=end)
    return pending.filter(account__mode=AccountMode.REMOTE, account__status=AccountStatus.OPEN).exists()


def retain(months: int, now: datetime | None = None) -> tuple[list[str], list[str]]:
    """Detach into :data:`ARCHIVE_SCHEMA` every month that ended ``months`` whole months or more before
    the current one. Returns (archived, kept): a month with readings still to be charged is kept."""
    if months <= 0 or not partitioned():
        return [], []
    cutoff = add_months(month_start(timezone.localdate(now or timezone.now())), -months)
    done: list[str] = []
    kept: list[str] = []
    with transaction.atomic(), connection.cursor() as c:
        c.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        # a table with foreign-key checks still pending cannot be moved: check them now (they are only
        # pending in a caller's transaction that wrote readings, such as a test's)
        c.execute("SET CONSTRAINTS ALL IMMEDIATE")
        old = [p for p in listing() if p.end is not None and p.end <= bounds(cutoff)[0]]
        if old:
            c.execute(f"CREATE SCHEMA IF NOT EXISTS {ARCHIVE_SCHEMA}")
        before = set(archived())
        for p in old:
            assert p.start is not None and p.end is not None
            if uncharged_in(p.start, p.end):
                kept.append(p.name)
                continue
            c.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {p.name}")
            if p.name in before:  # archived once already (late readings made the month again): add to it
                c.execute(f"INSERT INTO {ARCHIVE_SCHEMA}.{p.name} SELECT * FROM {p.name}")  # noqa: S608
                c.execute(f"DROP TABLE {p.name}")
            else:
                c.execute(f"ALTER TABLE {p.name} SET SCHEMA {ARCHIVE_SCHEMA}")
            done.append(p.name)
    for name in done:
        log.info("readings partition %s archived to %s", name, ARCHIVE_SCHEMA)
    for name in kept:
        log.warning("readings partition %s is past retention but holds readings not yet charged", name)
    return done, kept


def maintain() -> int:
    """The billing daemon's pass: partitions ahead, then retention. Returns partitions made or archived."""
    made = ensure()
    done, _kept = retain(settings.PREPAY_READING_RETENTION_MONTHS)
    return len(made) + len(done)
