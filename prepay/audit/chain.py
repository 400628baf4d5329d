"""Hashing and verification of the audit chain (no Django models imported at module level)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

GENESIS = "0" * 64
# fmt: off
HASHED_FIELDS = (
    "seq", "created_at", "actor_id", "actor_name", "group_id", "site_id", "verb",
    "object_type", "object_id", "object_repr", "before", "after", "prev_hash",
)
# fmt: on


def canonical(row: Mapping[str, Any]) -> bytes:
    """Canonical bytes of an event: sorted keys, no spaces, timestamps as ISO strings in UTC."""
    data = {}
    for f in HASHED_FIELDS:
        v = row[f]
        if f == "created_at" and not isinstance(v, str):
            v = v.astimezone(UTC).isoformat()
        data[f] = v
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def event_hash(row: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(row)).hexdigest()


@dataclass(frozen=True)
class Problem:
    """The first place where the chain breaks.

    ``seq`` is the sequence number the problem is about (for ``deleted``: the first missing one);
    ``event_id`` the primary key of the offending row when there is one.
    """

    seq: int | None
    event_id: int | None
    kind: str  # altered | inserted | deleted | head
    detail: str


def verify_rows(
    rows: Iterable[Mapping[str, Any]],
    head_seq: int,
    head_hash: str,
    *,
    refresh_head: Callable[[], tuple[int, str]] | None = None,
) -> tuple[int, Problem | None]:
    """Check rows in ``seq`` order; return (events checked, first problem or None).

    ``rows`` carry ``id``, ``hash`` and every field of :data:`HASHED_FIELDS`; ``head_seq`` /
    ``head_hash`` come from the ``AuditHead`` row.

    - altered: the stored hash does not match the event's content, or the head's hash does not match
      the event it points at;
    - inserted: an event beyond the chain head, a repeated seq, or an event whose ``prev_hash`` does
      not chain to its predecessor (the detail names both events; when the predecessor's id is newer
      than the event's, the predecessor is the one that was written later and is named);
    - deleted: a gap in the sequence, or the newest events missing (head is ahead of the table).

    ``refresh_head`` (optional) re-reads the head; it is called when a row lies beyond the head, so a
    verification running next to live writers does not mistake a freshly committed event for a
    forged one (rows are read after the head).
    """
    prev_hash = GENESIS
    prev_id: int | None = None
    expected = 1
    count = 0
    first_head = head_seq
    for row in rows:
        count += 1
        seq = row["seq"]
        if seq > head_seq and refresh_head is not None:
            head_seq, head_hash = refresh_head()
        if seq > head_seq:
            return count, Problem(
                seq,
                row["id"],
                "inserted",
                f"event #{seq} lies beyond the chain head #{head_seq}: it was not written by the audit writer",
            )
        if seq < expected:
            return count, Problem(seq, row["id"], "inserted", f"sequence {seq} repeats or goes backwards")
        if seq > expected:
            missing = f"#{expected}" if seq == expected + 1 else f"#{expected}..#{seq - 1}"
            return count, Problem(
                expected,
                None,
                "deleted",
                f"event {missing} is missing (the next event is #{seq}, id {row['id']})",
            )
        if event_hash(row) != row["hash"]:
            return count, Problem(seq, row["id"], "altered", "content does not match its hash")
        if row["prev_hash"] != prev_hash:
            if prev_id is not None and prev_id > row["id"]:
                # The predecessor was written after this event: it replaces a deleted original.
                return count, Problem(
                    seq - 1,
                    prev_id,
                    "inserted",
                    f"event #{seq - 1} (id {prev_id}) was written after event #{seq} (id {row['id']}) "
                    f"and does not match the hash #{seq} chains to",
                )
            return count, Problem(
                seq,
                row["id"],
                "inserted",
                f"does not chain to event #{seq - 1}"
                + (f" (id {prev_id})" if prev_id is not None else "")
                + ": one of the two was forged or rewritten with a recomputed hash",
            )
        if seq == head_seq and head_hash != row["hash"]:
            return count, Problem(
                seq, row["id"], "head", f"the chain head's hash does not match event #{seq}"
            )
        prev_hash = row["hash"]
        prev_id = row["id"]
        expected += 1
    last = expected - 1
    if last < first_head:
        missing = f"#{first_head}" if last + 1 == first_head else f"#{last + 1}..#{first_head}"
        return count, Problem(
            last + 1, None, "deleted", f"event {missing} is missing: the chain head says #{first_head}"
        )
    return count, None


@dataclass(frozen=True)
class Verification:
    """The result of :func:`verify_log`: events checked, the chain head, the first problem (or None)."""

    count: int
    head_seq: int
    head_hash: str
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_log(*, using: str = "default", progress: Callable[[int], None] | None = None) -> Verification:
    """Verify the whole audit log in database ``using``; streams rows, so memory stays flat.

    On PostgreSQL the head and the rows are read in one REPEATABLE READ snapshot when called outside
    a transaction; on SQLite the head is re-read when a row beyond it appears (a writer committed
    meanwhile). ``progress(n)`` is called every 1000 events and at the end with the count so far.
    """
    from django.db import connections, transaction

    from prepay.audit.models import AuditEvent, AuditHead

    conn = connections[using]

    def read_head() -> tuple[int, str] | None:
        return AuditHead.objects.using(using).filter(id=1).values_list("seq", "hash").first()

    def rows() -> Iterator[Mapping[str, Any]]:
        qs = AuditEvent.objects.using(using).order_by("seq").values("id", "hash", *HASHED_FIELDS)
        for n, row in enumerate(qs.iterator(chunk_size=2000), start=1):
            if progress is not None and n % 1000 == 0:
                progress(n)
            yield row

    def run() -> Verification:
        head = read_head()
        if head is None:
            # No head row: either nothing was ever recorded, or someone deleted it.
            last = AuditEvent.objects.using(using).order_by("-seq").values_list("seq", "hash").first()
            if last is None:
                return Verification(0, 0, GENESIS, None)
            count, problem = verify_rows(rows(), last[0], last[1])
            return Verification(
                count,
                0,
                GENESIS,
                problem or Problem(None, None, "head", "the chain head row is missing (it was deleted)"),
            )
        head_seq, head_hash = head

        def refresh() -> tuple[int, str]:
            return read_head() or (head_seq, head_hash)

        count, problem = verify_rows(rows(), head_seq, head_hash, refresh_head=refresh)
        if progress is not None:
            progress(count)
        return Verification(count, head_seq, head_hash, problem)

    if conn.vendor == "postgresql" and not conn.in_atomic_block:
        with transaction.atomic(using=using):
            with conn.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return run()
    return run()
