"""Every ledger row was written by an audited action: the cross-check of ``prepay db check``.

Each transaction that writes has one marker (:mod:`prepay.audit.marker`); the audit writer stores it on
every event it appends and the ledger on every entry and journal line (``audit_txn``). A row whose
marker no committed audit event carries was written in a transaction that recorded no audit event
(``ledger.post`` called outside an action); a row without a marker was written around the ORM (SQL).

Rows older than the marker (migration ``vending.0006``) carry none: they are trusted up to the
watermark recorded in the audit chain by that migration (event ``audit.ledger_watermark``: the
highest id and the row count of each table then). Rows at or below that id are counted again, so a
row slipped in later below the watermark is still found.

What it does not catch: a row given, by SQL, the marker of a genuine audited transaction. The
balances and journals must still add up for it to pass the other checks (see docs/audit.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from django.db import connections
from django.utils.translation import gettext as _

WATERMARK_VERB = "audit.ledger_watermark"
AREA = "unaudited"


def watermark(using: str = "default") -> dict[str, tuple[int, int]]:
    """{table: (max_id, count)} recorded at the cut-over; empty when there was nothing to trust."""
    from prepay.audit.models import AuditEvent

    after = (
        AuditEvent.objects.using(using)
        .filter(verb=WATERMARK_VERB)
        .order_by("id")
        .values_list("after", flat=True)
        .first()
    )
    if not isinstance(after, dict):
        return {}
    return {
        t: (int(v.get("max_id", 0)), int(v.get("count", 0))) for t, v in after.items() if isinstance(v, dict)
    }


def unaudited(using: str = "default") -> Iterator[Any]:
    """Yield a :class:`prepay.dbcare.base.Finding` for every ledger entry or journal line that no
    audit event accounts for, and for rows added or removed below the watermark. Two queries per
    table, each one pass (a hash join on PostgreSQL, an automatic index on SQLite)."""
    from prepay.vending.models import JournalLine, LedgerEntry

    marks = watermark(using)
    for model in (LedgerEntry, JournalLine):
        table = model._meta.db_table
        max_id, count = marks.get(table, (0, 0))
        yield from _below_watermark(using, table, max_id, count)
    yield from _entries(using, marks.get(LedgerEntry._meta.db_table, (0, 0))[0])
    yield from _lines(using, marks.get(JournalLine._meta.db_table, (0, 0))[0])


def _money(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(int(minor)), 100)
    return f"{sign}{whole}.{frac:02d}"


def _why(marker: str | None) -> str:
    if marker is None:
        return _("it carries no transaction marker: it was written around the actions (e.g. with SQL)")
    return _(
        "no audit event was committed in its transaction: it was written outside an action "
        "(e.g. ledger.post called directly)"
    )


def _events_sql(q: Any) -> str:
    from prepay.audit.models import AuditEvent

    table = q(AuditEvent._meta.db_table)
    return f"(SELECT DISTINCT {q('txn')} AS txn FROM {table} WHERE {q('txn')} IS NOT NULL)"  # noqa: S608


def _entries(using: str, max_id: int) -> Iterator[Any]:
    from prepay.dbcare.base import Finding
    from prepay.vending.models import LedgerEntry

    conn = connections[using]
    q = conn.ops.quote_name
    sql = (
        f"SELECT l.{q('id')}, l.{q('account_id')}, l.{q('seq')}, l.{q('amount')}, l.{q('audit_txn')} "  # noqa: S608
        f"FROM {q(LedgerEntry._meta.db_table)} l LEFT JOIN {_events_sql(q)} e ON e.txn = l.{q('audit_txn')} "
        f"WHERE e.txn IS NULL AND (l.{q('audit_txn')} IS NOT NULL OR l.{q('id')} > %s) ORDER BY l.{q('id')}"
    )
    with conn.cursor() as cursor:
        cursor.execute(sql, [max_id])
        while rows := cursor.fetchmany(1000):
            for pk, account, seq, amount, marker in rows:
                yield Finding(
                    AREA,
                    _("account id %(a)s entry #%(s)s (id %(id)s)") % {"a": account, "s": seq, "id": pk},
                    _("amount %(amt)s: %(why)s") % {"amt": _money(amount), "why": _why(marker)},
                )


def _lines(using: str, max_id: int) -> Iterator[Any]:
    """Journal lines no audit event accounts for, except those sharing their entry's marker (the
    entry's finding covers them)."""
    from prepay.dbcare.base import Finding
    from prepay.vending.models import JournalLine, LedgerEntry

    conn = connections[using]
    q = conn.ops.quote_name
    txn = q("audit_txn")
    sql = (
        f"SELECT j.{q('id')}, j.{q('journal')}, j.{q('book')}, j.{q('amount')}, j.{txn} "  # noqa: S608
        f"FROM {q(JournalLine._meta.db_table)} j "
        f"LEFT JOIN {q(LedgerEntry._meta.db_table)} le ON le.{q('id')} = j.{q('entry_id')} "
        f"LEFT JOIN {_events_sql(q)} e ON e.txn = j.{txn} "
        f"WHERE e.txn IS NULL AND (j.{txn} IS NOT NULL OR j.{q('id')} > %s) "
        f"AND (le.{q('id')} IS NULL OR COALESCE(le.{txn}, '') <> COALESCE(j.{txn}, '')) "
        f"ORDER BY j.{q('id')}"
    )
    with conn.cursor() as cursor:
        cursor.execute(sql, [max_id])
        while rows := cursor.fetchmany(1000):
            for pk, journal, book, amount, marker in rows:
                yield Finding(
                    AREA,
                    _("journal %(j)s line id %(id)s (%(book)s)")
                    % {"j": uuid.UUID(str(journal)), "id": pk, "book": book},
                    _("amount %(amt)s: %(why)s") % {"amt": _money(amount), "why": _why(marker)},
                )


def _below_watermark(using: str, table: str, max_id: int, count: int) -> Iterator[Any]:
    from prepay.dbcare.base import Finding

    if not max_id:
        return
    conn = connections[using]
    q = conn.ops.quote_name
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {q(table)} WHERE {q('id')} <= %s", [max_id])  # noqa: S608
        now = int(cursor.fetchone()[0])
    if now > count:
        what = _("%(n)s rows appeared at or below the watermark id %(id)s after the cut-over") % {
            "n": now - count,
            "id": max_id,
        }
    elif now < count:
        what = _("%(n)s rows counted at the cut-over (ids up to %(id)s) are gone") % {
            "n": count - now,
            "id": max_id,
        }
    else:
        return
    yield Finding(AREA, table, what)
