"""Raw-SQL tampering with the audit log, as an attacker with database access would do it.

The append-only triggers are dropped (SQLite) or disabled (PostgreSQL) inside the test's transaction,
so the test's rollback restores them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

from prepay.audit.chain import event_hash
from prepay.audit.models import AuditEvent, AuditHead


@contextmanager
def triggers_off() -> Iterator[Any]:
    """Yield a cursor on which UPDATE/DELETE of audit events succeed."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
            cursor.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
            cursor.execute("DROP TRIGGER IF EXISTS audit_head_no_delete")
            cursor.execute("DROP TRIGGER IF EXISTS audit_head_forward_only")
            cursor.execute("DROP TRIGGER IF EXISTS audit_head_starts_empty")
        else:
            # run the deferred foreign-key checks of this transaction's inserts first: PostgreSQL refuses
            # ALTER TABLE while trigger events on the table are pending
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
            cursor.execute("ALTER TABLE audit_audithead DISABLE TRIGGER audit_head_guard")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        yield cursor


def alter(seq: int, object_repr: str = "tampered", *, chain: int = 0) -> None:
    with triggers_off() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET object_repr = %s WHERE chain = %s AND seq = %s",
            [object_repr, chain, seq],
        )


def delete(seq: int, *, chain: int = 0) -> None:
    with triggers_off() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE chain = %s AND seq = %s", [chain, seq])


def forge(seq: int, prev_hash: str, **fields: Any) -> int:
    """INSERT a well-formed event (its own hash correct) with raw SQL; return its id."""
    chain = fields.get("chain", 0)
    last = AuditEvent.objects.filter(chain=chain).order_by("-seq").values().first()
    assert last is not None
    row = {
        k: last[k]
        for k in (
            "created_at",
            "actor_id",
            "actor_name",
            "group_id",
            "site_id",
            "verb",
            "object_type",
            "object_id",
            "before",
            "after",
        )
    }
    row.update(seq=seq, object_repr="forged refund", prev_hash=prev_hash, **fields)
    row["hash"] = event_hash(row)
    ev = AuditEvent(**row)
    ev.save(force_insert=True)  # a plain INSERT: no head update, no chain lock
    return ev.pk


def head(chain: int = 0) -> tuple[int, str]:
    h = AuditHead.objects.get(id=chain)
    return h.seq, h.hash


def legacy(n: int) -> None:
    """Append ``n`` events as the audit writer did before the chain was keyed: hashed and chained,
    with no transaction marker and no seal (the head moves onto them as it did then)."""
    from django.db import transaction
    from django.utils import timezone

    from prepay.audit.chain import event_hash, row_of

    with transaction.atomic():
        head = AuditHead.objects.select_for_update().get(id=0)
        for i in range(n):
            now = timezone.now()
            ev = AuditEvent(
                created_at=now.replace(microsecond=now.microsecond // 1000 * 1000),
                actor_name="old",
                verb="legacy.event",
                object_type="t",
                object_id=str(i),
                object_repr=f"before the seals {i}",
                seq=head.seq + 1,
                prev_hash=head.hash,
            )
            ev.hash = event_hash(row_of(ev))
            ev.save(force_insert=True)
            head.seq, head.hash = ev.seq, ev.hash
        AuditHead.objects.filter(id=0).update(seq=head.seq, hash=head.hash)


def rewrite_from(seq: int, *, chain: int = 0, **changes: Any) -> None:
    """Rewrite event ``seq`` of ``chain`` with ``changes`` and recompute, with plain SHA-256, its hash
    and those of every later event, then move the head: a rewrite only a seal can reveal."""
    from prepay.audit.chain import event_hash

    events = AuditEvent.objects.filter(chain=chain)
    with triggers_off() as cursor:
        rows = list(events.filter(seq__gte=seq).order_by("seq").values())
        prev = events.filter(seq=seq - 1).values_list("hash", flat=True).first() or "0" * 64
        for row in rows:
            if row["seq"] == seq:
                row.update(changes)
            row["prev_hash"] = prev
            row["hash"] = prev = event_hash(row)
            cursor.execute(
                "UPDATE audit_auditevent SET object_repr = %s, prev_hash = %s, hash = %s WHERE id = %s",
                [row["object_repr"], row["prev_hash"], row["hash"], row["id"]],
            )
        cursor.execute("UPDATE audit_audithead SET hash = %s WHERE id = %s", [prev, chain])
