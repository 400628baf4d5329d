"""Writing audit events. Called by every action inside its own transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, overload

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from prepay.audit.chain import event_hash
from prepay.audit.models import AuditEvent, AuditHead


@overload
def snapshot(obj: models.Model, fields: list[str] | None = None) -> dict[str, Any]: ...
@overload
def snapshot(obj: None, fields: list[str] | None = None) -> None: ...
def snapshot(obj: models.Model | None, fields: list[str] | None = None) -> dict[str, Any] | None:
    """A JSON-ready dict of a model instance's concrete fields (foreign keys as ids)."""
    if obj is None:
        return None
    out: dict[str, Any] = {}
    for f in obj._meta.concrete_fields:
        if fields is not None and f.name not in fields:
            continue
        if f.name in {"password"}:
            continue
        value = getattr(obj, f.attname)
        out[f.attname] = value if isinstance(value, (int, bool, type(None))) else str(value)
    return out


def record_event(
    *,
    actor: Any,
    verb: str,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    object_repr: str | None = None,
    group_id: int | None = None,
    site_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain. Must run inside the caller's transaction.

    The head row is locked (``select_for_update``) so concurrent writers chain one after another.
    Inside :func:`batched` the event is held and appended with the block's others at its end (its
    ``seq`` and ``hash`` are set then).
    """
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        raise RuntimeError("record_event must be called inside the action's transaction")
    now = timezone.now()
    event = AuditEvent(
        # millisecond precision: every backend stores it exactly, so the hash survives a round trip
        created_at=now.replace(microsecond=now.microsecond // 1000 * 1000),
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=(getattr(actor, "get_username", lambda: "")() or "system")[:150],
        group_id=group_id,
        site_id=site_id,
        verb=verb,
        object_type=object_type or (obj._meta.label_lower if obj is not None else ""),
        object_id=object_id or (str(obj.pk) if obj is not None else ""),
        object_repr=(object_repr or (str(obj) if obj is not None else ""))[:200],
        before=before,
        after=after,
    )
    pending: list[tuple[AuditEvent, _Held]] | None = getattr(conn, _BATCH, None)
    if pending is not None:
        held = _Held()
        # Django drops on-commit callbacks registered inside a savepoint that is rolled back: the
        # marker tells, when the batch ends, whether the work this event describes still stands.
        transaction.on_commit(held)
        pending.append((event, held))
    else:
        _append([event])
    return event


class _Held:
    """On-commit marker of a held event (does nothing when it runs)."""

    def __call__(self) -> None:
        return None


#: attribute of the database connection holding the events of the open :func:`batched` block
_BATCH = "_prepay_audit_batch"


@contextmanager
def batched() -> Iterator[None]:
    """Hold the events recorded in this block and append them to the chain together when it ends.

    The chain's head row is then locked for one append at the end of the action instead of from its
    first event to its commit, so concurrent actions (sales at many counters) queue on it only
    briefly. Use it inside the action's transaction, around work in which an error aborts the whole
    block. An error inside drops the held events with it; an event recorded inside an inner
    savepoint that was rolled back (its error caught) is dropped with that savepoint's work.
    A nested block joins the outer one.
    """
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        raise RuntimeError("audit.batched must be used inside the action's transaction")
    if getattr(conn, _BATCH, None) is not None:
        yield
        return
    pending: list[tuple[AuditEvent, _Held]] = []
    setattr(conn, _BATCH, pending)
    try:
        yield
    finally:
        setattr(conn, _BATCH, None)
    if pending:
        if conn.needs_rollback:  # an inner error was swallowed: the work is being rolled back anyway
            raise RuntimeError("audit.batched block ended in a transaction marked for rollback")
        standing = {id(entry[1]) for entry in conn.run_on_commit}
        events = [event for event, held in pending if id(held) in standing]
        if events:
            _append(events)


def _append(events: list[AuditEvent]) -> None:
    """Chain ``events`` after the head, in order, under the head's row lock."""
    # The head row is created by migration 0003; locking it serialises every writer of the chain.
    # (A test database flushed by TRUNCATE loses it; it is then created once more, at seq 0.)
    head = AuditHead.objects.select_for_update().filter(id=1).first()
    if head is None:
        try:
            with transaction.atomic():
                AuditHead.objects.create(id=1)
        except IntegrityError:  # a concurrent writer created it first
            pass
        head = AuditHead.objects.select_for_update().get(id=1)
    for event in events:
        event.seq = head.seq + 1
        event.prev_hash = head.hash
        event.hash = event_hash(_row(event))
        head.seq, head.hash = event.seq, event.hash
    if len(events) == 1:
        events[0].save(force_insert=True)
    else:
        AuditEvent.objects.bulk_create(events)
    head.save(update_fields=["seq", "hash"])


def _row(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "created_at": event.created_at,
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "group_id": event.group_id,
        "site_id": event.site_id,
        "verb": event.verb,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "before": event.before,
        "after": event.after,
        "prev_hash": event.prev_hash,
    }
