"""Hashing, sealing and verification of the audit chain (no Django models imported at module level).

Each event's ``hash`` is SHA-256 over a canonical JSON of its fields and ``prev_hash``; since the chain
was keyed, each event also carries ``mac`` = HMAC-SHA256(audit key, hash) and the id of that key
(:mod:`prepay.audit.keys`). The first sealed event marks the switch: every later event must be
sealed, and because a seal covers ``prev_hash`` it also vouches for every event before it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC
from typing import Any

from django.utils.translation import gettext as _

GENESIS = "0" * 64
# fmt: off
HASHED_FIELDS = (
    "seq", "created_at", "actor_id", "actor_name", "group_id", "site_id", "verb",
    "object_type", "object_id", "object_repr", "before", "after", "prev_hash",
)
# fmt: on
#: hashed when set (events written before they existed hash exactly as they did then); ``chain`` when
#: not the main chain (0), so an event cannot be moved from one chain to another
OPTIONAL_HASHED_FIELDS = ("txn", "chain")
#: what verification reads of each event
VERIFIED_FIELDS = ("id", "hash", *HASHED_FIELDS, *OPTIONAL_HASHED_FIELDS, "mac_key", "mac")
#: the main chain (events of no single site, and every event written before sites had chains)
MAIN = 0


def canonical(row: Mapping[str, Any]) -> bytes:
    """Canonical bytes of an event: sorted keys, no spaces, timestamps as ISO strings in UTC."""
    data = {}
    for f in HASHED_FIELDS:
        v = row[f]
        if f == "created_at" and not isinstance(v, str):
            v = v.astimezone(UTC).isoformat()
        data[f] = v
    if row.get("txn") is not None:
        data["txn"] = row["txn"]
    if row.get("chain"):  # not the main chain (0), nor an event model from before chains (None)
        data["chain"] = row["chain"]
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def event_hash(row: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(row)).hexdigest()


def row_of(event: Any) -> dict[str, Any]:
    """The hashed fields of an ``AuditEvent`` instance (or of any object with those attributes)."""
    row = {f: getattr(event, f) for f in HASHED_FIELDS}
    row.update({f: getattr(event, f, None) for f in OPTIONAL_HASHED_FIELDS})  # a migration's older model
    return row


def seal_events(events: Iterable[Any], head: Any, key_id: str | None, key: bytes | None) -> None:
    """Chain ``events`` after ``head`` in order: set each one's ``seq``, ``prev_hash``, ``hash`` and,
    with a key, ``mac_key`` / ``mac``; move ``head.seq`` / ``head.hash`` onto the last one. Writes
    nothing: the caller holds the head's lock and saves the events and the head."""
    from prepay.audit.keys import seal

    for event in events:
        event.seq = head.seq + 1
        event.prev_hash = head.hash
        event.hash = event_hash(row_of(event))
        if key is not None:
            event.mac_key, event.mac = key_id, seal(key, event.hash)
        head.seq, head.hash = event.seq, event.hash


class KeyUnavailable(Exception):
    """The audit key an event names cannot be had; the message says why (never the key)."""


@dataclass
class MacCheck:
    """Checks the seals of the events, in order, with keys from ``resolve(key_id)`` (which raises
    :class:`KeyUnavailable`). Afterwards ``keyed_from`` is the first sealed event's seq (None: none)
    and ``key_ids`` the keys met, in order."""

    resolve: Callable[[str], bytes]
    keyed_from: int | None = None
    key_ids: list[str] = field(default_factory=list)

    def problem(self, row: Mapping[str, Any]) -> Problem | None:
        from prepay.audit.keys import seal

        seq, mac, key_id = row["seq"], row.get("mac"), row.get("mac_key")
        if not mac:
            if self.keyed_from is None:
                return None  # written before the chain was keyed: its hash is all there is
            return Problem(
                seq,
                row["id"],
                "forged",
                _(
                    "event #%(seq)s carries no seal although the chain is sealed since event #%(from)s: "
                    "it was written or rewritten without the audit key"
                )
                % {"seq": seq, "from": self.keyed_from},
            )
        if self.keyed_from is None:
            self.keyed_from = seq
        key_id = str(key_id)
        if key_id not in self.key_ids:
            self.key_ids.append(key_id)
        try:
            key = self.resolve(key_id)
        except KeyUnavailable as exc:
            return Problem(seq, row["id"], "key", _("its seal cannot be checked: %(why)s") % {"why": exc})
        if not hmac.compare_digest(seal(key, row["hash"]), str(mac)):
            return Problem(
                seq,
                row["id"],
                "forged",
                _(
                    "its seal does not match (audit key %(key)s): it was written or rewritten without "
                    "the audit key, e.g. with a recomputed SHA-256 hash"
                )
                % {"key": key_id},
            )
        return None

    def final(self, count: int) -> Problem | None:
        """A non-empty chain with no sealed event: never keyed, or its seals were stripped."""
        if count and self.keyed_from is None:
            return Problem(
                None,
                None,
                "unkeyed",
                _(
                    "none of the %(n)s events carries a seal: the chain was never keyed (run "
                    "`prepay migrate` with the store key available) or its seals were removed"
                )
                % {"n": count},
            )
        return None


@dataclass(frozen=True)
class Problem:
    """The first place where a chain breaks.

    ``seq`` is the sequence number (in ``chain``) the problem is about (for ``deleted``: the first
    missing one); ``event_id`` the primary key of the offending row when there is one.
    """

    seq: int | None
    event_id: int | None
    kind: str  # altered | inserted | deleted | head | forged | unkeyed | key
    detail: str
    chain: int = MAIN

    @property
    def where(self) -> str:
        """Where the problem is, for people: "event #12 (id 40)" in the main chain, "event 3#12 (id 40)"
        in site 3's chain; or the chain as a whole: its head, or all of it for a chain never sealed."""
        if self.seq is None and self.kind == "unkeyed":
            where = _("Audit log") if self.chain == MAIN else _("chain of site %(c)s") % {"c": self.chain}
        elif self.seq is None:
            where = (
                _("chain head") if self.chain == MAIN else _("chain head of site %(c)s") % {"c": self.chain}
            )
        else:
            where = _("event %(label)s") % {"label": f"{self.chain or ''}#{self.seq}"}
        if self.event_id is not None:
            where += " " + _("(id %(id)s)") % {"id": self.event_id}
        return where


def verify_rows(
    rows: Iterable[Mapping[str, Any]],
    head_seq: int,
    head_hash: str,
    *,
    refresh_head: Callable[[], tuple[int, str]] | None = None,
    macs: MacCheck | None = None,
) -> tuple[int, Problem | None]:
    """Check rows in ``seq`` order; return (events checked, first problem or None).

    ``rows`` carry ``id``, ``hash`` and every field of :data:`HASHED_FIELDS` (and, to check seals,
    ``mac`` and ``mac_key``); ``head_seq`` / ``head_hash`` come from the ``AuditHead`` row.

    - altered: the stored hash does not match the event's content, or the head's hash does not match
      the event it points at;
    - forged (with ``macs``): an event's seal does not match its hash, or an event after the first
      sealed one carries none; unkeyed: no event at all is sealed; key: a seal's key cannot be had;
    - inserted: an event beyond the chain head, a repeated seq, or an event whose ``prev_hash`` does
      not chain to its predecessor (the detail names both events; when the predecessor's id is newer
      than the event's, the predecessor is the one that was written later and is named);
    - deleted: a gap in the sequence, or the newest events missing (head is ahead of the table).

    ``refresh_head`` (optional) re-reads the head; it is called when a row lies beyond the head, so a
    verification running next to live writers does not mistake a freshly committed event for a
    forged one (rows are read after the head). Without ``macs`` only the hashes are checked.
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
        problem = _order_problem(row, expected, head_seq) or _content_problem(row, macs)
        if problem is None and row["prev_hash"] != prev_hash:
            problem = _link_problem(row, prev_id)
        if problem is None and seq == head_seq and head_hash != row["hash"]:
            problem = Problem(
                seq,
                row["id"],
                "head",
                _("the chain head's hash does not match event #%(seq)s") % {"seq": seq},
            )
        if problem is not None:
            return count, problem
        prev_hash = row["hash"]
        prev_id = row["id"]
        expected += 1
    last = expected - 1
    if last < first_head:
        missing = f"#{first_head}" if last + 1 == first_head else f"#{last + 1}..#{first_head}"
        return count, Problem(
            last + 1,
            None,
            "deleted",
            _("event %(missing)s is missing: the chain head says #%(head)s")
            % {"missing": missing, "head": first_head},
        )
    return count, macs.final(count) if macs is not None else None


def _order_problem(row: Mapping[str, Any], expected: int, head_seq: int) -> Problem | None:
    seq = row["seq"]
    if seq > head_seq:
        return Problem(
            seq,
            row["id"],
            "inserted",
            _("event #%(seq)s lies beyond the chain head #%(head)s: it was not written by the audit writer")
            % {"seq": seq, "head": head_seq},
        )
    if seq < expected:
        return Problem(
            seq, row["id"], "inserted", _("sequence %(seq)s repeats or goes backwards") % {"seq": seq}
        )
    if seq > expected:
        missing = f"#{expected}" if seq == expected + 1 else f"#{expected}..#{seq - 1}"
        return Problem(
            expected,
            None,
            "deleted",
            _("event %(missing)s is missing (the next event is #%(seq)s, id %(id)s)")
            % {"missing": missing, "seq": seq, "id": row["id"]},
        )
    return None


def _content_problem(row: Mapping[str, Any], macs: MacCheck | None) -> Problem | None:
    if event_hash(row) != row["hash"]:
        return Problem(row["seq"], row["id"], "altered", _("content does not match its hash"))
    return macs.problem(row) if macs is not None else None


def _link_problem(row: Mapping[str, Any], prev_id: int | None) -> Problem:
    seq = row["seq"]
    if prev_id is not None and prev_id > row["id"]:
        # The predecessor was written after this event: it replaces a deleted original.
        return Problem(
            seq - 1,
            prev_id,
            "inserted",
            _(
                "event #%(prev)s (id %(prev_id)s) was written after event #%(seq)s (id %(id)s) "
                "and does not match the hash #%(seq)s chains to"
            )
            % {"prev": seq - 1, "prev_id": prev_id, "seq": seq, "id": row["id"]},
        )
    predecessor = _("event #%(seq)s") % {"seq": seq - 1}
    if prev_id is not None:
        predecessor += " " + _("(id %(id)s)") % {"id": prev_id}
    return Problem(
        seq,
        row["id"],
        "inserted",
        _("does not chain to %(prev)s: one of the two was forged or rewritten with a recomputed hash")
        % {"prev": predecessor},
    )


@dataclass(frozen=True)
class ChainState:
    """One verified chain: its number (0: main, else a site's id), events checked, its head, and its
    first sealed event (None: no seal was checked or none exists)."""

    chain: int
    count: int
    head_seq: int
    head_hash: str
    keyed_from: int | None


@dataclass(frozen=True)
class Verification:
    """The result of :func:`verify_log`: events checked in all, the first problem (or None), each
    chain checked in full (in chain order), and the audit keys met."""

    count: int
    problem: Problem | None
    chains: tuple[ChainState, ...] = ()
    key_ids: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.problem is None

    def of(self, chain: int = MAIN) -> ChainState | None:
        """The state of one chain (None: not checked, or it has neither events nor a head)."""
        return next((c for c in self.chains if c.chain == chain), None)


def resolver(using: str = "default") -> Any:
    """A function ``key_id -> bytes`` for :func:`verify_rows`: each key is read from the database
    and decrypted once per verification; a key that cannot be had raises :class:`KeyUnavailable`
    with a readable reason."""
    from prepay.audit.keys import AuditKeyError, load

    found: dict[str, bytes | str] = {}

    def resolve(key_id: str) -> bytes:
        if key_id not in found:
            try:
                found[key_id] = load(key_id, using=using, create=False, cached=False)
            except AuditKeyError as exc:
                found[key_id] = str(exc.message)
        value = found[key_id]
        if isinstance(value, str):
            raise KeyUnavailable(value)
        return value

    return resolve


def verify_log(
    *, using: str = "default", progress: Callable[[int], None] | None = None, seals: bool = True
) -> Verification:
    """Verify every chain of the audit log in database ``using``; streams rows, so memory stays flat.

    Each chain (the main one and one per site) is checked on its own against its head, in chain
    order; the first problem found stops the check. A chain whose events exist but whose head row
    does not is a problem (heads cannot be deleted). With ``seals`` (the default) every seal is
    checked with the audit keys, which needs the store key (:mod:`prepay.audit.keys`); an audit key
    that cannot be had is a problem of kind ``key``. On PostgreSQL the heads and the rows are read in
    one REPEATABLE READ snapshot when called outside a transaction; on SQLite a chain's head is re-read
    when a row beyond it appears (a writer committed meanwhile). ``progress(n)`` is called every 1000
    events and at the end with the count so far.
    """
    from django.db import connections, transaction

    from prepay.audit.models import AuditEvent, AuditHead

    conn = connections[using]
    resolve = resolver(using) if seals else None
    heads = AuditHead.objects.using(using)
    events = AuditEvent.objects.using(using)

    def rows(chain: int, before: int) -> Iterator[Mapping[str, Any]]:
        qs = events.filter(chain=chain).order_by("seq").values(*VERIFIED_FIELDS)
        for n, row in enumerate(qs.iterator(chunk_size=2000), start=before + 1):
            if progress is not None and n % 1000 == 0:
                progress(n)
            yield row

    def check(
        chain: int, head: tuple[int, str] | None, before: int, macs: MacCheck | None
    ) -> tuple[int, Problem | None]:
        if head is None:  # events without their head: someone deleted it
            last = events.filter(chain=chain).order_by("-seq").values_list("seq", "hash").first()
            assert last is not None  # the chain is listed because it has events
            count, problem = verify_rows(rows(chain, before), last[0], last[1], macs=macs)
            missing = Problem(None, None, "head", _("the chain head row is missing (it was deleted)"))
            return count, problem or missing
        seen = head

        def refresh() -> tuple[int, str]:
            return heads.filter(id=chain).values_list("seq", "hash").first() or seen

        return verify_rows(rows(chain, before), head[0], head[1], refresh_head=refresh, macs=macs)

    def run() -> Verification:
        found = {c: (seq, h) for c, seq, h in heads.values_list("id", "seq", "hash")}
        total, key_ids, states = 0, list[str](), list[ChainState]()
        for chain in sorted(set(found) | set(events.order_by().values_list("chain", flat=True).distinct())):
            macs = MacCheck(resolve) if resolve is not None else None
            count, problem = check(chain, found.get(chain), total, macs)
            total += count
            if macs is not None:
                key_ids += [k for k in macs.key_ids if k not in key_ids]
            if problem is not None:
                return Verification(total, replace(problem, chain=chain), tuple(states), tuple(key_ids))
            head = found.get(chain, (0, GENESIS))
            states.append(ChainState(chain, count, *head, macs.keyed_from if macs is not None else None))
        if progress is not None:
            progress(total)
        return Verification(total, None, tuple(states), tuple(key_ids))

    if conn.vendor == "postgresql" and not conn.in_atomic_block:
        with transaction.atomic(using=using):
            with conn.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return run()
    return run()
