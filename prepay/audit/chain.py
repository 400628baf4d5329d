"""Hashing and verification of the audit chain (no Django models imported at module level)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

GENESIS = "0" * 64
HASHED_FIELDS = (
    "seq", "created_at", "actor_id", "actor_name", "group_id", "site_id", "verb",
    "object_type", "object_id", "object_repr", "before", "after", "prev_hash",
)


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
    """The first place where the chain breaks."""

    seq: int | None
    event_id: int | None
    kind: str  # altered | inserted | deleted | head
    detail: str


def verify_rows(rows: Iterable[Mapping[str, Any]], head_seq: int, head_hash: str) -> tuple[int, Problem | None]:
    """Check rows in ``seq`` order; return (events checked, first problem or None).

    - altered: the stored hash does not match the event's content;
    - inserted: an event whose ``prev_hash`` does not chain to its predecessor, or a repeated seq;
    - deleted: a gap in the sequence, or the newest events missing (head is ahead of the table).
    """
    prev_hash = GENESIS
    expected = 1
    count = 0
    for row in rows:
        count += 1
        seq = row["seq"]
        if event_hash(row) != row["hash"]:
            return count, Problem(seq, row["id"], "altered", "content does not match its hash")
        if seq < expected:
            return count, Problem(seq, row["id"], "inserted", f"sequence {seq} repeats or goes backwards")
        if seq > expected:
            return count, Problem(seq, row["id"], "deleted", f"events {expected}..{seq - 1} are missing")
        if row["prev_hash"] != prev_hash:
            return count, Problem(seq, row["id"], "inserted", "does not chain to the event before it")
        prev_hash = row["hash"]
        expected += 1
    if head_seq != expected - 1 or (head_seq and head_hash != prev_hash):
        return count, Problem(
            head_seq, None, "deleted" if head_seq > expected - 1 else "head",
            f"newest event is #{expected - 1} but the chain head says #{head_seq}",
        )
    return count, None
