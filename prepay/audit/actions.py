"""Writing audit events. Called by every action inside its own transaction.

Each event is chained (``prev_hash`` / ``hash``), sealed with the chain's audit key (``mac``, see
:mod:`prepay.audit.keys`) and tagged with the transaction's marker (``txn``, see
:mod:`prepay.audit.marker`), all in the one INSERT that writes it.

A transaction appends to one chain only, chosen by its first append (:func:`_chain_of`): its site's
chain when the events lie in one site, else the main chain. It therefore locks one chain head, so
transactions at different sites never wait for each other, and two transactions never each hold a
head the other waits for.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, overload

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from prepay.audit import keys
from prepay.audit.chain import MAIN, seal_events
from prepay.audit.marker import current_txn
from prepay.audit.models import AuditEvent, AuditHead
from prepay.common.compiled import CompiledQuery


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

    The chain's head row is locked (``select_for_update``) so concurrent writers of the chain append
    one after another.
    Inside :func:`batched` the event is held and appended with the block's others at its end (its
    ``seq`` and ``hash`` are set then).
    """
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        raise RuntimeError("record_event must be called inside the action's transaction")
    event = AuditEvent(
        created_at=_stamp(),
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


#: attribute of the database connection holding a key the next append switches the chain to
_REKEY = "_prepay_audit_rekey"


@contextmanager
def rekeyed(key_id: str, key: bytes) -> Iterator[None]:
    """Seal the events recorded in this block with a new audit key, and make it the chain's key.

    For :func:`start_new_key` only (the key was just created in this transaction)."""
    conn = transaction.get_connection()
    setattr(conn, _REKEY, (key_id, key))
    try:
        yield
    finally:
        setattr(conn, _REKEY, None)


#: attribute of the database connection: (transaction marker, the chain that transaction appends to)
_CHAIN = "_prepay_audit_chain"


def _chain_of(events: list[Any]) -> int:
    """The chain the open transaction appends to: decided by its first append (the site's chain when
    every event lies in the same site, else the main chain) and kept until the transaction ends."""
    conn = transaction.get_connection()
    txn = current_txn()
    held = getattr(conn, _CHAIN, None)
    if held is not None and held[0] == txn:
        return int(held[1])
    sites = {getattr(event, "site_id", None) for event in events}
    site = next(iter(sites)) if len(sites) == 1 else None
    chain = int(site) if site is not None else MAIN
    setattr(conn, _CHAIN, (txn, chain))
    return chain


def _head_query(*, chain: int) -> Any:
    return AuditHead.objects.select_for_update().filter(id=chain).order_by("pk")[:1]


#: every write reads its chain's head: compiled once per process (``prepay.common.compiled``)
_HEAD = CompiledQuery("audit.head", _head_query)


def _locked_head(head_model: Any, chain: int) -> Any:
    """The chain's head row, locked; created (at the empty chain) the first time the chain is used.
    The main chain's head is created by migration 0003 (a test database flushed by TRUNCATE loses it;
    it is then created once more, at seq 0)."""
    if head_model is AuditHead:
        found = _HEAD.rows(chain=chain)
        head = found[0] if found else None
    else:  # a migration's historical model
        head = head_model.objects.select_for_update().filter(id=chain).first()
    if head is None:
        try:
            with transaction.atomic():
                head_model.objects.create(id=chain)
        except IntegrityError:  # a concurrent writer created it first
            pass
        head = head_model.objects.select_for_update().get(id=chain)
    return head


def _append(
    events: list[Any],
    *,
    models: tuple[Any, Any, Any] | None = None,
    sealed: bool = True,
    chain: int | None = None,
) -> None:
    """Chain and seal ``events`` after their chain's head, in order, under the head's row lock.

    ``chain`` defaults to the transaction's chain (:func:`_chain_of`). Every event carries the
    transaction's marker (:func:`prepay.audit.marker.current_txn`) and is sealed with the head's
    audit key (:func:`prepay.audit.keys.for_head`); a chain that already holds
    events but has no key yet gets one, with an ``audit.chain_keyed`` event recording the switch
    chained first. ``models`` = (event, head, key) model classes: a migration passes its historical
    models. ``sealed=False`` (a migration that cannot have the store key) chains without sealing; the
    next sealed write keys the chain.
    """
    event_model, head_model, key_model = models or (AuditEvent, AuditHead, None)
    chained = any(f.name == "chain" for f in event_model._meta.concrete_fields)
    if not chained:  # a migration's models from before migration 0006: one chain, whose head is row 1
        chain = 1
    elif chain is None:
        chain = _chain_of(events)
    head = _locked_head(head_model, chain)
    rekey = getattr(transaction.get_connection(), _REKEY, None)
    head_key = head.mac_key
    key_id: str | None = None
    key: bytes | None = None
    if sealed and rekey is not None:
        key_id, key = rekey
        head.mac_key = key_id
    elif sealed:
        was_keyed = bool(head.mac_key)
        key_id, key = keys.for_head(head, model=key_model)
        if not was_keyed and head.seq > 0:
            events = [keying_event(event_model, key_id, head.seq + 1), *events]
    if not events:
        return
    txn = current_txn()
    for event in events:
        event.txn = txn
        if chained:
            event.chain = chain
    seal_events(events, head, key_id, key)
    if len(events) == 1:
        events[0].save(force_insert=True)
    else:
        event_model.objects.bulk_create(events)
    head.save(update_fields=["seq", "hash"] if head.mac_key == head_key else ["seq", "hash", "mac_key"])


def _stamp() -> Any:
    """Now, to the millisecond: every backend stores that exactly, so an event's hash survives a
    round trip through the database."""
    now = timezone.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _system_event(model: Any, *, verb: str, object_type: str, object_id: str, **fields: Any) -> Any:
    """An unsaved event of ``model`` (the live or a migration's historical model) written by the
    system, not a person: no actor, named "system", its object shown by its id."""
    return model(
        created_at=_stamp(),
        actor=None,
        actor_name="system",
        verb=verb,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_id,
        **fields,
    )


def keying_event(event_model: Any, key_id: str, from_seq: int) -> Any:
    """The ``audit.chain_keyed`` event that records the switch of an existing chain to sealed events
    (it is itself the first sealed event, from seq ``from_seq``)."""
    return _system_event(
        event_model,
        verb="audit.chain_keyed",
        object_type="audit.auditkey",
        object_id=key_id,
        before=None,
        after={"audit_key": key_id, "sealed_from": from_seq},
    )


def record_in_migration(
    apps: Any, *, verb: str, object_type: str, object_id: str, after: dict[str, Any]
) -> None:
    """Append one system event from a data migration, through its historical models: sealed when the
    store key can be had, else chained only (a note goes to stderr)."""
    import sys

    from prepay.common.errors import ActionError

    models = (
        apps.get_model("audit", "AuditEvent"),
        apps.get_model("audit", "AuditHead"),
        apps.get_model("audit", "AuditKey"),
    )

    def event() -> Any:
        return _system_event(models[0], verb=verb, object_type=object_type, object_id=object_id, after=after)

    try:
        with transaction.atomic():
            _append([event()], models=models)
    except ActionError as exc:
        if models[1].objects.filter(id=1, mac_key__isnull=False).exists():
            raise  # a sealed chain takes no unsealed event: the store key must be configured
        sys.stderr.write(f"audit: {verb} recorded without a seal ({exc}); the next write keys the chain.\n")
        _append([event()], models=models, sealed=False)


def start_new_key(new: Any, *, reencrypted: int, using: str = "default") -> str:
    """Start a new audit key under store key ``new`` for every chain, recording the change in each as
    an ``audit.key_rotated`` event sealed with the new key (its ``prev_hash`` commits to every older
    event of its chain, so history sealed with the old key cannot be rewritten behind it). Returns the
    new key id. The heads are locked in chain order (a writer holds one head at most, so no deadlock).

    Called by :meth:`prepay.tokens.keystore.SoftwareKeyStore.reencrypt_all` inside its transaction,
    after the audit keys were re-encrypted under ``new``.
    """
    key_id, key = keys.create(using=using, with_store_key=new)
    chains = sorted({MAIN, *AuditHead.objects.using(using).values_list("id", flat=True)})
    after = {"audit_key": key_id, "store_key": new.key_id, "reencrypted": reencrypted}
    with rekeyed(key_id, key):
        for chain in chains:
            event = _system_event(
                AuditEvent,
                verb="audit.key_rotated",
                object_type="audit.auditkey",
                object_id=key_id,
                site_id=chain or None,
                after=after,
            )
            _append([event], chain=chain)
    return key_id
