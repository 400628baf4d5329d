"""The transaction marker that links ledger rows to the audit events of the same transaction.

Every database transaction that writes gets one random marker (16 hex digits) the first time it asks
for it. The audit writer stores it on each event it appends (``AuditEvent.txn``, inside the event's
hash); the ledger stores it on each entry and journal line it writes (``audit_txn``, the field's
default). ``prepay db check`` then reports every ledger row whose marker no committed audit event
carries: it was written in a transaction that recorded no audit event (``ledger.post`` called
outside an action), or around the ORM altogether (SQL, where the column stays empty).

No statement is sent to the database: the marker lives on the connection and is tied to the open
transaction through an on-commit hook Django drops when the transaction ends (commit or rollback) or
when the savepoint that registered it is rolled back, so the next call starts a new marker.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction

#: connection attribute: (the on-commit list the hook was last seen in, the hook, the savepoint id)
_ATTR = "_prepay_audit_txn"
_NO_TRANSACTION = object()


class _Mark:
    """The on-commit hook carrying a transaction's marker (does nothing when it runs)."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __call__(self) -> None:
        return None


def _scope(conn: Any) -> object:
    """The savepoint id of the outermost atomic block that is not a test case's (None when it is
    the real transaction), or ``_NO_TRANSACTION`` when only a test case's blocks are open.

    Under Django's ``TestCase`` every test runs inside a transaction that is never committed, so an
    action's ``atomic()`` is a savepoint there: each such savepoint counts as a transaction of its
    own, as it would be in production.
    """
    blocks = conn.atomic_blocks
    offset = len(blocks) - len(conn.savepoint_ids)  # 1: the outermost block took no savepoint id
    for i, block in enumerate(blocks):
        if not getattr(block, "_from_testcase", False):
            return conn.savepoint_ids[i - offset] if i >= offset else None
    return _NO_TRANSACTION


def current_txn(using: str | None = None) -> str | None:
    """The marker of the open transaction on connection ``using`` (None outside a transaction).

    Stable for the whole transaction, including its released savepoints; a fresh one after commit,
    rollback, or the rollback of the savepoint in which it was first asked for (whose rows are gone).
    Also the ``default`` of the ledger's ``audit_txn`` fields, so every row the ORM creates inside a
    transaction carries it.
    """
    conn = transaction.get_connection(using)
    if not conn.in_atomic_block:
        return None
    scope = _scope(conn)
    if scope is _NO_TRANSACTION:
        return None
    state: tuple[list[Any], _Mark, object] | None = getattr(conn, _ATTR, None)
    if state is not None and state[2] == scope:
        hooks, mark, _ = state
        if hooks is conn.run_on_commit:
            return mark.value
        # Django replaces the list at commit, rollback and savepoint rollback: look for our hook
        if any(entry[1] is mark for entry in conn.run_on_commit):
            setattr(conn, _ATTR, (conn.run_on_commit, mark, scope))
            return mark.value
    mark = _Mark(secrets.token_hex(8))
    conn.on_commit(mark)
    setattr(conn, _ATTR, (conn.run_on_commit, mark, scope))
    return mark.value
