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
            cursor.execute("DROP TRIGGER audit_event_no_update")
            cursor.execute("DROP TRIGGER audit_event_no_delete")
            cursor.execute("DROP TRIGGER audit_head_no_delete")
            cursor.execute("DROP TRIGGER audit_head_forward_only")
        else:
            # run the deferred foreign-key checks of this transaction's inserts first: PostgreSQL refuses
            # ALTER TABLE while trigger events on the table are pending
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
            cursor.execute("ALTER TABLE audit_audithead DISABLE TRIGGER audit_head_guard")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        yield cursor


def alter(seq: int, object_repr: str = "tampered") -> None:
    with triggers_off() as cursor:
        cursor.execute("UPDATE audit_auditevent SET object_repr = %s WHERE seq = %s", [object_repr, seq])


def delete(seq: int) -> None:
    with triggers_off() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = %s", [seq])


def forge(seq: int, prev_hash: str, **fields: Any) -> int:
    """INSERT a well-formed event (its own hash correct) with raw SQL; return its id."""
    last = AuditEvent.objects.order_by("-seq").values().first()
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


def head() -> tuple[int, str]:
    h = AuditHead.objects.get(id=1)
    return h.seq, h.hash
