"""Reports on a read replica: a database router and the replica's lag.

When ``PREPAY_REPLICA_URL`` names a PostgreSQL standby (streaming replication of the primary), the
settings add it as the ``replica`` database and install :class:`ReplicaRouter`. Report pages read
there inside :func:`reading_reports` (the reports' views enter it for GET requests), so a month of
sales detail never competes with the counter for the primary. Everything else reads the primary:

* writes never go to the replica (``db_for_write`` is always ``default``; a standby refuses them
  anyway), nor do migrations;
* inside a transaction on the primary, reads stay there (what the transaction just wrote, and its row
  locks, are only there);
* a replica that cannot be reached is not an error: the report reads the primary and says so.

The report shows how far behind the replica is (:func:`lag`): zero when it has replayed everything
it received, else the time since the last transaction it replayed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections

REPLICA = "replica"

#: True while the code in :func:`reading_reports` may read the replica
_reading: ContextVar[bool] = ContextVar("prepay_reading_replica", default=False)


@dataclass(frozen=True)
class ReplicaStatus:
    """Where a report was read: ``used`` (the replica), its ``lag`` in seconds (None: unknown), or
    ``unavailable`` (configured but unreachable: the primary was read)."""

    configured: bool
    used: bool = False
    lag: Decimal | None = None
    unavailable: bool = False


def configured() -> bool:
    return REPLICA in settings.DATABASES


class ReplicaRouter:
    """Reads inside :func:`reading_reports` go to the replica, unless a transaction is open on the
    primary; every write and every migration goes to the primary."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        if _reading.get() and not connections["default"].in_atomic_block:
            return REPLICA
        return None

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the replica holds the same rows as the primary

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db != REPLICA


def lag(using: str = REPLICA) -> Decimal | None:
    """Seconds the replica is behind the primary: 0 when it has replayed all it received, else the
    age of the last transaction it replayed; None when ``using`` is not a standby."""
    with connections[using].cursor() as cur:
        cur.execute(
            "SELECT pg_is_in_recovery(), CASE"
            " WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0"
            " ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
        )
        standby, seconds = cur.fetchone()
    if not standby or seconds is None:
        return None
    return Decimal(seconds).quantize(Decimal("0.1"))


@contextmanager
def reading_reports() -> Iterator[ReplicaStatus]:
    """Read the replica in this block, when one is configured and answers; yields where it read."""
    if not configured():
        yield ReplicaStatus(configured=False)
        return
    try:
        connections[REPLICA].ensure_connection()
        behind = lag()
    except DatabaseError:
        connections[REPLICA].close()
        yield ReplicaStatus(configured=True, unavailable=True)
        return
    token = _reading.set(True)
    try:
        yield ReplicaStatus(configured=True, used=True, lag=behind)
    finally:
        _reading.reset(token)
