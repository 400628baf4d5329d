"""Can the embedded SQLite database be read at all? A one-line answer before anything opens it.

``prepay db check`` and ``prepay audit verify`` ask first (:func:`ensure_readable`): a damaged file
(bytes overwritten, truncated, not a database at all) then ends the command with one clear line in
the user's language and exit code 1, instead of a traceback from deep inside a query. ``prepay db
restore`` asks too (:func:`sqlite_file_problem`) to decide whether the current file can still be
backed up through SQLite or must be kept aside by a plain file copy.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

SQLITE_MAGIC = b"SQLite format 3\x00"
HEADER_SIZE = 100
#: seconds to wait for a writer's lock before giving up (a busy database is not a damaged one)
BUSY_TIMEOUT = 30.0


def _declared_size(header: bytes) -> int | None:
    """The database size the header states, when that field is valid (SQLite ≥ 3.7.0 keeps it)."""
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    change_counter, valid_for = header[24:28], header[92:96]
    if not pages or change_counter != valid_for or page_size < 512:
        return None
    return page_size * pages


def header_problem(path: Path) -> str | None:
    """What is wrong with ``path`` judged by its bytes alone (no SQLite): None when nothing is seen.

    An empty file is an empty database (SQLite's own view), so it is not a problem here.
    """
    size = path.stat().st_size
    if size == 0:
        return None
    with path.open("rb") as fh:
        header = fh.read(HEADER_SIZE)
    if header[: len(SQLITE_MAGIC)] != SQLITE_MAGIC:
        return _("it is not a SQLite database (its first bytes are not a SQLite header)")
    if len(header) < HEADER_SIZE:
        return _("it is truncated (%(n)s bytes, shorter than a SQLite header)") % {"n": size}
    declared = _declared_size(header)
    if declared is not None and size < declared:
        return _("it is truncated (%(n)s bytes, its header says %(want)s)") % {"n": size, "want": declared}
    return None


def sqlite_file_problem(path: Path) -> str | None:
    """None when ``path`` is missing, empty, or a database SQLite reads and ``PRAGMA quick_check``
    passes; else a short reason in the active language. A file SQLite cannot read *now* (busy,
    locked, no access, an I/O error) is no verdict: that raises ``DbCareError``.

    SQLite opens the file read-only (it never writes to it here; it may create the -shm index of a
    database in WAL mode, as any reader does).
    """
    if not path.exists():
        return None
    if problem := header_problem(path):
        return problem
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT)
        try:
            rows = conn.execute("PRAGMA quick_check(3)").fetchall()
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:  # busy, locked, cannot open, I/O: not a verdict on the file
        from prepay.dbcare.base import DbCareError

        raise DbCareError(
            _("The database %(p)s cannot be read now (%(e)s); nothing was changed.") % {"p": path, "e": exc}
        ) from None
    except sqlite3.Error as exc:  # not a database, malformed
        return _("SQLite cannot read it: %(e)s") % {"e": exc}
    if rows != [("ok",)]:
        first = str(rows[0][0]).replace("*** in database main ***", "").strip().splitlines()
        return _("SQLite's quick check reports %(e)s") % {"e": first[0] if first else "?"}
    return None


def ensure_readable(db: Mapping[str, Any]) -> None:
    """Raise :class:`prepay.dbcare.base.DbCareError` with one line when the SQLite database of
    the ``DATABASES`` entry ``db`` is damaged, missing or empty; PostgreSQL passes (its server reports
    its own errors, which the commands turn into one line too)."""
    from prepay.dbcare.base import DbCareError, vendor_of

    if vendor_of(db) != "sqlite":
        return
    name = str(db.get("NAME") or "")
    if not name or name == ":memory:" or "mode=memory" in name:
        return
    path = Path(name)
    if not path.exists() or path.stat().st_size == 0:
        raise DbCareError(
            _("The database %(p)s is empty or missing: run `prepay migrate` first.") % {"p": path}
        )
    if problem := sqlite_file_problem(path):
        raise DbCareError(
            _(
                "The database file %(p)s is damaged: %(why)s. Restore a backup with `prepay db restore BACKUP`."
            )
            % {"p": path, "why": problem}
        )
