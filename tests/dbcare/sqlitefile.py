"""A small embedded-style SQLite database file (WAL, an append-only trigger) for backup/restore tests.

The pytest database for SQLite lives in memory, so the file-level operations are tested on a file
built here and passed to the services explicitly.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

SCHEMA = [
    "PRAGMA journal_mode=WAL",
    "CREATE TABLE account (id INTEGER PRIMARY KEY, number TEXT NOT NULL)",
    "CREATE TABLE entry (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES account(id), "
    "amount INTEGER NOT NULL, memo TEXT NOT NULL DEFAULT '')",
    "CREATE TABLE event (id INTEGER PRIMARY KEY, entry_id INTEGER NOT NULL REFERENCES entry(id))",
    "CREATE TRIGGER event_no_delete BEFORE DELETE ON event BEGIN SELECT RAISE(ABORT, 'append-only'); END",
]


def make_db(path: Path, accounts: int = 3, entries: int = 10) -> dict[str, Any]:
    """Create the file and return a Django ``DATABASES`` entry pointing at it."""
    conn = sqlite3.connect(path, isolation_level=None)
    for sql in SCHEMA:
        conn.execute(sql)
    conn.execute("BEGIN")
    for a in range(1, accounts + 1):
        conn.execute("INSERT INTO account (id, number) VALUES (?, ?)", (a, f"A{a:04d}"))
        for _ in range(entries):
            cur = conn.execute("INSERT INTO entry (account_id, amount) VALUES (?, 100)", (a,))
            conn.execute("INSERT INTO event (entry_id) VALUES (?)", (cur.lastrowid,))
    conn.execute("COMMIT")
    conn.close()
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}


def snapshot(path: Path | str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, for comparing two databases."""
    conn = sqlite3.connect(path)
    try:
        return {
            t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall()  # noqa: S608 - fixed names
            for t in ("account", "entry", "event")
        }
    finally:
        conn.close()


def scalar(path: Path | str, sql: str) -> Any:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()
