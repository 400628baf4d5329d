"""Database care: online backup, restore, consistency check and compaction.

Every function works on the embedded SQLite database and on PostgreSQL. File-level operations
(:func:`backup`, :func:`restore`, :func:`compact`) take an optional Django ``DATABASES`` entry
(``db``; default: the ``default`` connection's settings) so they can be pointed at any database;
:func:`check` runs through a Django connection alias because it reads the ledger and audit log.

SQLite uses the online backup API (a consistent snapshot even while the server keeps writing; never
a file copy) — except for a damaged file that ``restore`` replaces, which SQLite cannot read and which
is therefore kept aside by a plain file copy. PostgreSQL uses ``pg_dump -Fc`` / ``pg_restore``; the
password goes to the child process through ``PGPASSWORD`` and never appears on a command line or in a
message. Files and folders are created owner-only (:mod:`prepay.dbcare.permissions`); a damaged
SQLite file is recognised by :mod:`prepay.dbcare.health`, and the ledger's link to the audit log is
checked by :mod:`prepay.dbcare.provenance`.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections
from django.utils.translation import gettext as _

from prepay.dbcare import health
from prepay.dbcare.base import DbCareError, Finding, db_settings, vendor_of
from prepay.dbcare.permissions import (
    create_private_file,
    ensure_private_sqlite,
    private_dir,
    sqlite_paths,
)
from prepay.telemetry.partitions import ARCHIVE_SCHEMA

SQLITE_MAGIC = b"SQLite format 3\x00"
MAX_FINDINGS_PER_AREA = 50


def _sqlite_path(db: Mapping[str, Any]) -> Path:
    name = str(db.get("NAME") or "")
    if not name or name == ":memory:" or "mode=memory" in name:
        raise DbCareError(_("The SQLite database is in memory; there is no file to work on."))
    return Path(name)


def _sqlite_connect(path: Path, *, must_exist: bool = True) -> sqlite3.Connection:
    if must_exist and not path.exists():
        raise DbCareError(_("Database file %(p)s does not exist.") % {"p": path})
    # autocommit (isolation_level=None): VACUUM and the backup API manage their own transactions
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def _sqlite_size(path: Path) -> int:
    """Bytes of the database file plus its write-ahead log."""
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def _pg_env_and_args(db: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Environment (password, SSL options) and connection arguments for pg_dump / pg_restore / psql."""
    env = dict(os.environ)
    args: list[str] = []
    if db.get("HOST"):
        args += ["-h", str(db["HOST"])]
    if db.get("PORT"):
        args += ["-p", str(db["PORT"])]
    if db.get("USER"):
        args += ["-U", str(db["USER"])]
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    options = db.get("OPTIONS") or {}
    for key, var in (
        ("sslmode", "PGSSLMODE"),
        ("sslrootcert", "PGSSLROOTCERT"),
        ("sslcert", "PGSSLCERT"),
        ("sslkey", "PGSSLKEY"),
        ("passfile", "PGPASSFILE"),
        ("service", "PGSERVICE"),
    ):
        if options.get(key):
            env[var] = str(options[key])
    args.append("--no-password")  # never prompt: a missing password is an error, not a hang
    return env, args


def _run(cmd: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which(cmd[0])
    if exe is None:
        raise DbCareError(
            _("%(tool)s is not installed or not on PATH (PostgreSQL client tools are needed).")
            % {"tool": cmd[0]}
        )
    proc = subprocess.run([exe, *cmd[1:]], env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        # the tools' messages never contain the password (it is only in the environment)
        raise DbCareError(_("%(what)s failed: %(err)s") % {"what": what, "err": proc.stderr.strip()[-2000:]})
    return proc


def _timestamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S-%f")


def default_backup_name(db: Mapping[str, Any], prefix: str = "prepay") -> str:
    """``prepay-YYYYmmdd-HHMMSS-micro.sqlite3`` (SQLite) or ``….dump`` (pg_dump custom format)."""
    return f"{prefix}-{_timestamp()}.{'sqlite3' if vendor_of(db) == 'sqlite' else 'dump'}"


def _destination(dest: Path | str | None, db: Mapping[str, Any], prefix: str = "prepay") -> Path:
    target = Path(dest) if dest is not None else Path(settings.PREPAY_BACKUP_DIR)
    if target.is_dir() or dest is None or str(dest).endswith(os.sep):
        private_dir(target)  # folders it creates are 0700; an existing one is the operator's choice
        target = target / default_backup_name(db, prefix)
    else:
        private_dir(target.parent)
    if target.exists():
        raise DbCareError(_("%(p)s already exists; choose another name.") % {"p": target})
    return target


# -- backup -------------------------------------------------------------------------------------------


def backup(
    dest: Path | str | None = None, *, db: Mapping[str, Any] | None = None, prefix: str = "prepay"
) -> Path:
    """Write a consistent online backup and return its path.

    ``dest``: a directory (a timestamped file is created in it), a file path, or None for
    ``settings.PREPAY_BACKUP_DIR``. The file is written under a temporary name and renamed when
    complete, so a backup that exists is whole. It is readable by its owner only (it holds personal
    data): created 0600 before anything is written, in a folder created 0700. Raises
    :class:`DbCareError` when the database cannot be read or the tool fails.
    """
    db = db or db_settings()
    vendor = vendor_of(db)
    target = _destination(dest, db, prefix)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    create_private_file(partial)  # 0600 before the first byte of personal data is written
    try:
        if vendor == "sqlite":
            _sqlite_backup(_sqlite_path(db), partial)
        else:
            env, args = _pg_env_and_args(db)
            _run(["pg_dump", "-Fc", *args, "-f", str(partial), "-d", str(db["NAME"])], env, "pg_dump")
        partial.chmod(0o600)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _sqlite_backup(src_path: Path, dest: Path) -> None:
    """Copy ``src_path`` into ``dest`` with the backup API (one step: a single consistent snapshot)."""
    src = _sqlite_connect(src_path)
    try:
        out = sqlite3.connect(str(dest), isolation_level=None)
        try:
            src.backup(out)  # pages=-1: everything in one step, under one read transaction
            # a backup is one self-contained file: no -wal / -shm beside it
            out.execute("PRAGMA journal_mode=DELETE")
            result = out.execute("PRAGMA quick_check").fetchone()[0]
            if result != "ok":
                raise DbCareError(_("The backup copy failed its check: %(r)s") % {"r": result})
        finally:
            out.close()
    except sqlite3.Error as exc:
        raise DbCareError(_("SQLite backup failed: %(e)s") % {"e": exc}) from exc
    finally:
        src.close()


# -- restore ------------------------------------------------------------------------------------------


def restore(
    path: Path | str, *, db: Mapping[str, Any] | None = None, pre_restore_dir: Path | str | None = None
) -> Path | None:
    """Replace the database's content with the backup at ``path``; return where the previous
    database was kept (None: there was none).

    Before anything changes, the current database is kept in ``pre_restore_dir`` (default
    ``settings.PREPAY_BACKUP_DIR``), so a wrong restore can be undone: as a backup
    ``pre-restore-<time>`` when it can be read, or — a damaged SQLite file — as a plain file copy
    ``damaged-<time>.sqlite3`` (plus its -wal / -shm / -journal), never read through SQLite.
    SQLite: the backup is checked, then copied in with the backup API (other connections see the new
    content; nobody reads a half-copied file); a damaged file is replaced by a fresh one built from
    the backup beside it and renamed over it (stop the servers first: they hold the damaged file).
    PostgreSQL: the dump as SQL (``pg_restore --no-owner``) run by ``psql --single-transaction``
    after dropping the schemas it fills (``public``, and the archived readings' schema): all or
    nothing. (``pg_restore --clean`` cannot clean a partitioned table: it drops each partition's
    inherited key on its own, which PostgreSQL refuses.) The caller closes its own connections first
    and runs :func:`check` afterwards.
    """
    db = db or db_settings()
    source = Path(path)
    if not source.is_file():
        raise DbCareError(_("Backup file %(p)s does not exist.") % {"p": source})
    vendor = vendor_of(db)
    where = Path(pre_restore_dir) if pre_restore_dir is not None else Path(settings.PREPAY_BACKUP_DIR)
    private_dir(where)
    if vendor == "sqlite":
        return _restore_sqlite(source, _sqlite_path(db), db, where)
    with source.open("rb") as fh:
        if fh.read(5) != b"PGDMP":
            raise DbCareError(_("%(p)s is not a pg_dump custom-format file.") % {"p": source})
    pre = backup(where, db=db, prefix="pre-restore")
    env, args = _pg_env_and_args(db)
    fd, name = tempfile.mkstemp(prefix="restore-", suffix=".sql", dir=where)  # owner-only
    os.close(fd)
    script = Path(name)
    try:
        _run(["pg_restore", "--no-owner", "-f", str(script), str(source)], env, "pg_restore")
        # public is made again as PostgreSQL makes it (owned by the database's owner, usable by all),
        # so roles the dump does not know of, such as a read-only reporting role, keep their access
        clear = (
            f"DROP SCHEMA IF EXISTS {ARCHIVE_SCHEMA} CASCADE; DROP SCHEMA IF EXISTS public CASCADE; "
            "CREATE SCHEMA public AUTHORIZATION pg_database_owner; GRANT USAGE ON SCHEMA public TO PUBLIC;"
        )
        _run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", *args,
             "-d", str(db["NAME"]), "-c", clear, "-f", str(script)],
            env,
            "pg_restore",
        )  # fmt: skip
    finally:
        script.unlink(missing_ok=True)
    return pre


def _restore_sqlite(source: Path, live: Path, db: Mapping[str, Any], where: Path) -> Path | None:
    """Keep the live file (backup, or file copy when damaged), then bring the backup in."""
    _check_sqlite_backup(source)
    if not live.exists() or live.stat().st_size == 0:
        ensure_private_sqlite(live)
        _restore_into(source, live, None)
        return None
    present = [p for p in sqlite_paths(live) if p.exists()]  # before SQLite may add a -shm
    if health.sqlite_file_problem(live) is None:
        # sound: a consistent backup even while others write; if it fails, nothing has changed
        pre = backup(where, db=db, prefix="pre-restore")
        _restore_into(source, live, pre)
        return pre
    kept = _keep_aside(live, present, where)
    _replace_sqlite_file(source, live, kept)
    return kept


def _sqlite_copy(source: Path, dest: Path) -> None:
    """Copy ``source`` into the database ``dest`` with the backup API and leave it in WAL mode."""
    src = _sqlite_connect(source)
    try:
        dst = _sqlite_connect(dest, must_exist=False)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")
        finally:
            dst.close()
    finally:
        src.close()


def _restore_into(source: Path, live: Path, pre: Path | None) -> None:
    try:
        _sqlite_copy(source, live)
    except sqlite3.Error as exc:
        raise DbCareError(
            _("SQLite restore failed: %(e)s (the previous database is in %(pre)s)") % {"e": exc, "pre": pre}
        ) from exc


def _keep_aside(live: Path, present: list[Path], where: Path) -> Path:
    """Copy the damaged database's files byte for byte to ``damaged-<time>.sqlite3[-wal|-shm|…]``
    in ``where`` (0600); return the copy of the database file."""
    target = where / f"damaged-{_timestamp()}.sqlite3"
    for src in present:
        dst = Path(str(target) + src.name[len(live.name) :])
        create_private_file(dst)
        try:
            shutil.copyfile(src, dst)
        except OSError as exc:
            raise DbCareError(
                _("Cannot copy the damaged database %(p)s aside: %(e)s; nothing was changed.")
                % {"p": src, "e": exc.strerror}
            ) from exc
    return target


def _replace_sqlite_file(source: Path, live: Path, kept: Path) -> None:
    """Build a fresh database from ``source`` beside ``live`` and rename it over ``live``; the old
    -wal / -shm / -journal go (a stale log must never be replayed into the restored file)."""
    fresh = live.with_name(live.name + ".restoring")
    for p in sqlite_paths(fresh):
        p.unlink(missing_ok=True)
    create_private_file(fresh)
    try:
        _restore_into(source, fresh, kept)
        for p in sqlite_paths(live)[1:]:
            p.unlink(missing_ok=True)
        os.replace(fresh, live)
    finally:
        for p in sqlite_paths(fresh):
            p.unlink(missing_ok=True)


def _check_sqlite_backup(path: Path) -> None:
    with path.open("rb") as fh:
        if fh.read(16) != SQLITE_MAGIC:
            raise DbCareError(_("%(p)s is not a SQLite database.") % {"p": path})
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = conn.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.Error as exc:
        raise DbCareError(_("%(p)s cannot be read: %(e)s") % {"p": path, "e": exc}) from exc
    finally:
        conn.close()
    if result != "ok":
        raise DbCareError(_("%(p)s is damaged: %(r)s") % {"p": path, "r": result})


# -- compact ------------------------------------------------------------------------------------------


def compact(
    *, db: Mapping[str, Any] | None = None, using: str = "default", full: bool = False
) -> tuple[int, int]:
    """Reclaim space and refresh planner statistics; return (bytes before, bytes after).

    SQLite: ``PRAGMA optimize``, ``VACUUM``, ``PRAGMA wal_checkpoint(TRUNCATE)`` on a connection of its
    own (``db``, default the ``default`` database). PostgreSQL: ``VACUUM (ANALYZE)`` — or ``VACUUM
    (FULL, ANALYZE)`` with ``full`` (locks each table while it is rewritten) — on connection
    ``using``, which must not be inside a transaction.
    """
    db = db or db_settings(using)
    if vendor_of(db) == "sqlite":
        path = _sqlite_path(db)
        before = _sqlite_size(path)
        lite = _sqlite_connect(path)
        try:
            lite.execute("PRAGMA optimize")
            lite.execute("VACUUM")
            lite.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.Error as exc:
            raise DbCareError(_("SQLite compaction failed: %(e)s") % {"e": exc}) from exc
        finally:
            lite.close()
        return before, _sqlite_size(path)
    conn = connections[using]
    if conn.in_atomic_block:
        raise DbCareError(_("VACUUM cannot run inside a transaction."))
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        before = int(cursor.fetchone()[0])
        cursor.execute("VACUUM (FULL, ANALYZE)" if full else "VACUUM (ANALYZE)")
        cursor.execute("SELECT pg_database_size(current_database())")
        after = int(cursor.fetchone()[0])
    return before, after


# -- check --------------------------------------------------------------------------------------------


def check(using: str = "default") -> list[Finding]:
    """Check the database behind connection ``using``; return what is wrong (empty: all good).

    1. storage: SQLite ``PRAGMA integrity_check``; PostgreSQL: invalid indexes and unvalidated
       foreign keys;
    2. foreign keys: SQLite ``PRAGMA foreign_key_check``; PostgreSQL: every foreign key constraint of
       the schema is re-checked with a query for orphan rows (they appear when constraints were
       disabled, e.g. ``session_replication_role = replica`` during a bad restore);
    3. the audit log's append-only triggers and the chain head's guard exist and are enabled;
    4. the ledger: per account, ``seq`` runs 1..n without gaps, each ``balance_after`` equals the
       previous one plus ``amount``, and the newest ``balance_after`` equals the sum of amounts;
    5. the double-entry journal: every journal's lines sum to zero, and per account the customer
       book mirrors the ledger (−Σ customer lines == Σ entries); each agent float ledger chains like
       the customer ledger, and its point's float position (``float_seq``, ``float_balance``) is its
       newest entry;
    6. every ledger entry and journal line was written in a transaction that committed an audit
       event (:mod:`prepay.dbcare.provenance`, area ``unaudited``);
    7. the audit chain verifies, seals included (:func:`prepay.audit.chain.verify_log`);
    8. stored configuration a sale depends on parses as the engine would parse it (tariff versions,
       billing settings, vending keys, vending points, sites:
       :func:`prepay.dbcare.configcheck.stored_configuration_problems`), and no API client sells as
       a vending point of another site (:func:`prepay.api.checks.misbound_clients`).

    At most :data:`MAX_FINDINGS_PER_AREA` findings are listed per area (then one "and N more").
    A database that cannot be read (damaged pages, no schema) raises :class:`DbCareError` with one
    line; the commands check a SQLite file first (:func:`prepay.dbcare.health.ensure_readable`).
    """
    from django.db import Error as DatabaseError

    from prepay.api.checks import misbound_clients
    from prepay.dbcare import provenance

    conn = connections[using]
    findings: list[Finding] = []
    try:
        if conn.vendor == "sqlite":
            findings += _sqlite_storage(using)
        elif conn.vendor == "postgresql":
            findings += _pg_storage(using)
        if any(f.area == "integrity" for f in findings):
            return findings  # the other checks would read damaged pages
        findings += _triggers(using)
        findings += _capped("ledger", _ledger(using))
        findings += _capped("journal", itertools.chain(_journal(using), _float_positions(using)))
        findings += _capped(provenance.AREA, provenance.unaudited(using))
        findings += _audit(using)
        findings += _capped("configuration", _configuration(using))
        findings += _capped("api_client", (Finding("api_client", w, t) for w, t in misbound_clients(using)))
    except DatabaseError as exc:
        raise DbCareError(unreadable(exc)) from exc
    return findings


def _configuration(using: str) -> Iterator[Finding]:
    from prepay.dbcare.configcheck import stored_configuration_problems

    for p in stored_configuration_problems(using):
        yield Finding("configuration", p.where, f"{p.field}: {p.message}")


def unreadable(exc: BaseException) -> str:
    """One line for a database error met while reading: what it is and what to do."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        return _("The database has no Prepay schema (%(e)s): run `prepay migrate` first.") % {"e": text}
    return _("The database cannot be read: %(e)s. See docs/database-care.md.") % {"e": text}


def _capped(area: str, found: Iterator[Finding]) -> list[Finding]:
    out: list[Finding] = []
    more = 0
    for f in found:
        if len(out) < MAX_FINDINGS_PER_AREA:
            out.append(f)
        else:
            more += 1
    if more:
        out.append(Finding(area, "…", _("and %(n)s more findings of this kind") % {"n": more}))
    return out


def _sqlite_storage(using: str) -> list[Finding]:
    out: list[Finding] = []
    with connections[using].cursor() as cursor:
        cursor.execute("PRAGMA integrity_check")
        for (line,) in cursor.fetchall():
            if line != "ok":
                out.append(Finding("integrity", _("database file"), str(line)))
        cursor.execute("PRAGMA foreign_key_check")
        rows = cursor.fetchall()
    for table, rowid, parent, _fkid in rows[:MAX_FINDINGS_PER_AREA]:
        out.append(
            Finding(
                "foreign_key",
                f"{table} rowid {rowid}",
                _("refers to a row of %(parent)s that does not exist") % {"parent": parent},
            )
        )
    if len(rows) > MAX_FINDINGS_PER_AREA:
        out.append(
            Finding(
                "foreign_key",
                "…",
                _("and %(n)s more findings of this kind") % {"n": len(rows) - MAX_FINDINGS_PER_AREA},
            )
        )
    return out


_PG_FOREIGN_KEYS = """
SELECT con.conname, cl.relname, fcl.relname, con.convalidated,
  ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i),
  ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
        JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i)
FROM pg_constraint con
JOIN pg_class cl ON cl.oid = con.conrelid
JOIN pg_class fcl ON fcl.oid = con.confrelid
WHERE con.contype = 'f' AND cl.relnamespace = current_schema()::regnamespace
ORDER BY cl.relname, con.conname
"""


def _pg_storage(using: str) -> list[Finding]:
    conn = connections[using]
    q = conn.ops.quote_name
    out: list[Finding] = []
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, i.indrelid::regclass::text FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relnamespace = current_schema()::regnamespace AND NOT (i.indisvalid AND i.indisready)"
        )
        for index, table in cursor.fetchall():
            out.append(
                Finding(
                    "index",
                    f"{table}.{index}",
                    _("the index is invalid (an interrupted build); drop and recreate it"),
                )
            )
        cursor.execute(_PG_FOREIGN_KEYS)
        fks = cursor.fetchall()
        orphans = 0
        for name, table, parent, validated, cols, pcols in fks:
            if not validated:
                out.append(
                    Finding(
                        "foreign_key",
                        f"{table} ({name})",
                        _("the constraint was added NOT VALID and never validated"),
                    )
                )
            not_null = " AND ".join(f"c.{q(c)} IS NOT NULL" for c in cols)
            join = " AND ".join(f"p.{q(pc)} = c.{q(c)}" for c, pc in zip(cols, pcols, strict=True))
            key = " || ',' || ".join(f"c.{q(c)}::text" for c in cols)
            cursor.execute(
                f"SELECT COUNT(*), MIN({key}) FROM {q(table)} c WHERE {not_null} "  # noqa: S608 - identifiers quoted
                f"AND NOT EXISTS (SELECT 1 FROM {q(parent)} p WHERE {join})"
            )
            count, example = cursor.fetchone()
            if count and orphans < MAX_FINDINGS_PER_AREA:
                orphans += 1
                out.append(
                    Finding(
                        "foreign_key",
                        f"{table}.{','.join(cols)}",
                        _("%(n)s rows refer to %(parent)s rows that do not exist (e.g. %(key)s)")
                        % {"n": count, "parent": parent, "key": example},
                    )
                )
    return out


#: the triggers that keep the audit log append-only and its chain head honest, per backend
AUDIT_TRIGGERS: dict[str, dict[str, tuple[str, ...]]] = {
    "sqlite": {
        "audit_auditevent": ("audit_event_no_update", "audit_event_no_delete"),
        "audit_audithead": ("audit_head_no_delete", "audit_head_forward_only", "audit_head_starts_empty"),
    },
    "postgresql": {
        "audit_auditevent": ("audit_event_append_only",),
        "audit_audithead": ("audit_head_guard",),
    },
}


def _triggers(using: str) -> list[Finding]:
    """The audit log must still refuse UPDATE and DELETE, and its head move only onto its events."""
    conn = connections[using]
    expected = AUDIT_TRIGGERS.get(conn.vendor, {})
    out: list[Finding] = []

    def finding(table: str, name: str, state: str) -> Finding:
        if table == "audit_auditevent":
            what = (
                _("the append-only trigger is missing: audit events can be changed")
                if state == "missing"
                else _("the append-only trigger is disabled: audit events can be changed")
            )
        else:
            what = (
                _("the chain head's guard is missing: the head can be moved or deleted")
                if state == "missing"
                else _("the chain head's guard is disabled: the head can be moved or deleted")
            )
        return Finding("trigger", f"{table}.{name}", what)

    with conn.cursor() as cursor:
        for table, names in expected.items():
            if conn.vendor == "sqlite":
                cursor.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table]
                )
                state = {row[0]: "O" for row in cursor.fetchall()}
            else:
                cursor.execute(
                    "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
                    [table],
                )
                state = dict(cursor.fetchall())
            for name in names:
                if name not in state:
                    out.append(finding(table, name, "missing"))
                elif state[name] == "D":
                    out.append(finding(table, name, "disabled"))
    return out


def _ledger(using: str) -> Iterator[Finding]:
    """Walk every account's entries in (account, seq) order, streaming, in integer minor units."""
    from prepay.vending.models import LedgerEntry

    table = LedgerEntry._meta.db_table
    conn = connections[using]
    q = conn.ops.quote_name
    sql = (
        f"SELECT {q('account_id')}, {q('seq')}, {q('amount')}, {q('balance_after')}, {q('id')} "  # noqa: S608
        f"FROM {q(table)} ORDER BY {q('account_id')}, {q('seq')}"
    )
    places = LedgerEntry._meta.get_field("amount").places  # type: ignore[union-attr]

    def money(minor: int) -> str:
        sign = "-" if minor < 0 else ""
        whole, frac = divmod(abs(minor), 10**places)
        return f"{sign}{whole}.{frac:0{places}d}"

    def end(account: int, last_balance: int, total: int) -> Iterator[Finding]:
        if last_balance != total:
            yield Finding(
                "ledger",
                _("account id %(a)s") % {"a": account},
                _("balance %(b)s differs from the sum of its entries %(s)s")
                % {"b": money(last_balance), "s": money(total)},
            )

    # a server-side cursor on PostgreSQL: memory stays flat however long the ledger is
    cursor = conn.chunked_cursor()
    try:
        cursor.execute(sql)
        account: int | None = None
        expected = balance = total = 0
        while rows := cursor.fetchmany(5000):
            for acc, seq, amount, balance_after, pk in rows:
                if acc != account:
                    if account is not None:
                        yield from end(account, balance, total)
                    account, expected, balance, total = acc, 1, 0, 0
                where = _("account id %(a)s entry #%(s)s (id %(id)s)") % {"a": acc, "s": seq, "id": pk}
                if seq != expected:
                    what = (
                        _("entries #%(e)s..#%(l)s are missing") % {"e": expected, "l": seq - 1}
                        if seq > expected
                        else _("sequence number repeats or goes backwards")
                    )
                    yield Finding("ledger", where, what)
                if balance_after != balance + amount:
                    yield Finding(
                        "ledger",
                        where,
                        _(
                            "balance after is %(got)s but the previous balance %(prev)s plus the amount %(amt)s is %(want)s"
                        )
                        % {
                            "got": money(balance_after),
                            "prev": money(balance),
                            "amt": money(amount),
                            "want": money(balance + amount),
                        },
                    )
                expected, balance, total = seq + 1, balance_after, total + amount
        if account is not None:
            yield from end(account, balance, total)
    finally:
        cursor.close()


def _journal(using: str) -> Iterator[Finding]:
    """Unbalanced journals, customer books that disagree with the ledger, broken agent floats."""
    from prepay.vending.models import AgentFloatEntry, JournalLine, LedgerEntry

    conn = connections[using]
    q = conn.ops.quote_name
    jl, le, af = JournalLine._meta.db_table, LedgerEntry._meta.db_table, AgentFloatEntry._meta.db_table
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT {q('journal')}, SUM({q('amount')}) FROM {q(jl)} "  # noqa: S608
            f"GROUP BY {q('journal')} HAVING SUM({q('amount')}) <> 0"
        )
        for journal, total in cursor.fetchall():
            yield Finding(
                "journal", _("journal %(j)s") % {"j": journal}, _("lines sum to %(s)s, not 0") % {"s": total}
            )
        cursor.execute(
            f"SELECT a.acc, a.total, COALESCE(b.total, 0) FROM "  # noqa: S608
            f"(SELECT {q('account_id')} AS acc, SUM({q('amount')}) AS total FROM {q(le)} "
            f"GROUP BY {q('account_id')}) a LEFT JOIN "
            f"(SELECT {q('account_id')} AS acc, -SUM({q('amount')}) AS total FROM {q(jl)} "
            f"WHERE {q('book')} = 'customer' GROUP BY {q('account_id')}) b ON a.acc = b.acc "
            f"WHERE a.total <> COALESCE(b.total, 0)"
        )
        for account, ledger_total, book_total in cursor.fetchall():
            yield Finding(
                "journal",
                _("account id %(a)s") % {"a": account},
                _("the customer book (%(b)s minor units) disagrees with the ledger (%(l)s)")
                % {"b": book_total, "l": ledger_total},
            )
        cursor.execute(
            f"SELECT {q('point_id')}, {q('seq')}, {q('amount')}, {q('balance_after')} FROM {q(af)} "  # noqa: S608
            f"ORDER BY {q('point_id')}, {q('seq')}"
        )
        point, expected, balance = None, 1, 0
        for pt, seq, amount, balance_after in cursor.fetchall():
            if pt != point:
                point, expected, balance = pt, 1, 0
            if seq != expected or balance_after != balance + amount:
                yield Finding(
                    "journal",
                    _("agent float of point id %(p)s entry #%(s)s") % {"p": pt, "s": seq},
                    _("the float ledger does not chain"),
                )
            expected, balance = seq + 1, balance_after


def _float_positions(using: str) -> Iterator[Finding]:
    """Vending points whose float position (``float_seq``, ``float_balance``: what a sale draws on)
    is not their float ledger's newest entry ((0, 0) before the first)."""
    from prepay.vending.models import AgentFloatEntry, VendingPoint

    conn = connections[using]
    q = conn.ops.quote_name
    vp, af = VendingPoint._meta.db_table, AgentFloatEntry._meta.db_table
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT p.{q('id')}, p.{q('float_seq')}, p.{q('float_balance')}, "  # noqa: S608
            f"COALESCE(e.{q('seq')}, 0), COALESCE(e.{q('balance_after')}, 0) FROM {q(vp)} p "
            f"LEFT JOIN {q(af)} e ON e.{q('point_id')} = p.{q('id')} AND e.{q('seq')} = "
            f"(SELECT MAX(x.{q('seq')}) FROM {q(af)} x WHERE x.{q('point_id')} = p.{q('id')}) "
            f"WHERE p.{q('float_seq')} <> COALESCE(e.{q('seq')}, 0) "
            f"OR p.{q('float_balance')} <> COALESCE(e.{q('balance_after')}, 0) ORDER BY p.{q('id')}"
        )
        for point, seq, balance, newest_seq, newest_balance in cursor.fetchall():
            yield Finding(
                "journal",
                _("agent float of point id %(p)s") % {"p": point},
                _(
                    "the point's float position (entry #%(s)s, %(b)s minor units) is not its newest "
                    "entry (#%(n)s, %(nb)s)"
                )
                % {"s": seq, "b": balance, "n": newest_seq, "nb": newest_balance},
            )


def _audit(using: str) -> list[Finding]:
    from prepay.audit.chain import verify_log

    result = verify_log(using=using)
    if result.problem is None:
        return []
    p = result.problem
    return [Finding("audit", p.where, f"{p.kind}: {p.detail}")]
