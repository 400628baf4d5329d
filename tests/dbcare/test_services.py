"""backup / restore / compact on an SQLite file (runs on every leg: it needs no Django database)."""

from __future__ import annotations

import shutil
import sqlite3
import stat
import threading
from pathlib import Path

import pytest
from django.test import override_settings

from prepay.dbcare import services
from tests.dbcare.damage import HOW, damage
from tests.dbcare.sqlitefile import make_db, scalar, snapshot


@pytest.fixture
def live(tmp_path):
    return make_db(tmp_path / "live.sqlite3")


class BackupTestCase:
    def test_it_copies_every_row_into_a_private_self_contained_file(self, live, tmp_path):
        path = services.backup(tmp_path / "out.sqlite3", db=live)
        assert path == tmp_path / "out.sqlite3"
        assert snapshot(path) == snapshot(live["NAME"])
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert scalar(path, "PRAGMA journal_mode") == "delete"
        assert not list(tmp_path.glob("*.partial"))

    def test_it_names_the_file_with_a_timestamp_in_the_backup_dir(self, live, tmp_path):
        with override_settings(PREPAY_BACKUP_DIR=tmp_path / "backups"):
            first = services.backup(db=live)
            second = services.backup(db=live)
        assert first.parent == tmp_path / "backups" and first.name.startswith("prepay-")
        assert first.suffix == ".sqlite3" and first != second

    def test_it_takes_a_consistent_snapshot_while_another_connection_writes(self, live, tmp_path):
        stop = threading.Event()

        def writer() -> None:
            conn = sqlite3.connect(live["NAME"], isolation_level=None, timeout=30)
            while not stop.is_set():
                # one transaction writes an entry and its event: a consistent copy has both or neither
                conn.execute("BEGIN IMMEDIATE")
                cur = conn.execute(
                    "INSERT INTO entry (account_id, amount, memo) VALUES (1, 5, ?)", ("x" * 500,)
                )
                conn.execute("INSERT INTO event (entry_id) VALUES (?)", (cur.lastrowid,))
                conn.execute("COMMIT")
            conn.close()

        t = threading.Thread(target=writer)
        t.start()
        try:
            copies = [services.backup(tmp_path / f"b{i}.sqlite3", db=live) for i in range(5)]
        finally:
            stop.set()
            t.join(30)
        for path in copies:
            assert scalar(path, "SELECT COUNT(*) FROM entry") == scalar(path, "SELECT COUNT(*) FROM event")
            assert scalar(path, "PRAGMA integrity_check") == "ok"
        assert scalar(copies[-1], "SELECT COUNT(*) FROM entry") > 30

    def test_it_refuses_an_existing_target_and_an_in_memory_database(self, live, tmp_path):
        (tmp_path / "taken.sqlite3").write_bytes(b"")
        with pytest.raises(services.DbCareError, match="already exists"):
            services.backup(tmp_path / "taken.sqlite3", db=live)
        memory = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
        with pytest.raises(services.DbCareError, match="in memory"):
            services.backup(tmp_path / "m.sqlite3", db=memory)
        missing = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "nope.sqlite3")}
        with pytest.raises(services.DbCareError, match="does not exist"):
            services.backup(tmp_path / "n.sqlite3", db=missing)

    def test_it_refuses_an_unknown_engine(self, tmp_path):
        with pytest.raises(services.DbCareError, match="Unsupported"):
            services.backup(tmp_path, db={"ENGINE": "django.db.backends.mysql", "NAME": "x"})


class RestoreTestCase:
    def test_it_round_trips_and_keeps_the_replaced_database(self, live, tmp_path):
        original = snapshot(live["NAME"])
        path = services.backup(tmp_path / "good.sqlite3", db=live)
        reader = sqlite3.connect(live["NAME"])  # a connection that stays open, like a running server
        conn = sqlite3.connect(live["NAME"], isolation_level=None)
        conn.execute("INSERT INTO account (id, number) VALUES (99, 'late')")
        conn.execute("UPDATE entry SET amount = 0")
        conn.close()
        changed = snapshot(live["NAME"])

        pre = services.restore(path, db=live, pre_restore_dir=tmp_path / "pre")

        assert snapshot(live["NAME"]) == original
        assert reader.execute("SELECT COUNT(*) FROM account").fetchone()[0] == 3
        reader.close()
        assert pre is not None and pre.parent == tmp_path / "pre" and pre.name.startswith("pre-restore-")
        assert snapshot(pre) == changed
        assert scalar(live["NAME"], "PRAGMA journal_mode") == "wal"
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            sqlite3.connect(live["NAME"]).execute("DELETE FROM event")

    def test_it_refuses_a_file_that_is_not_a_sqlite_backup_and_changes_nothing(self, live, tmp_path):
        before = snapshot(live["NAME"])
        junk = tmp_path / "junk.sqlite3"
        junk.write_bytes(b"PGDMP not sqlite")
        with pytest.raises(services.DbCareError, match="not a SQLite database"):
            services.restore(junk, db=live, pre_restore_dir=tmp_path / "pre")
        with pytest.raises(services.DbCareError, match="does not exist"):
            services.restore(tmp_path / "missing.sqlite3", db=live, pre_restore_dir=tmp_path / "pre")
        assert snapshot(live["NAME"]) == before
        assert not list((tmp_path / "pre").glob("*"))

    def test_it_restores_into_a_database_that_does_not_exist_yet(self, live, tmp_path):
        path = services.backup(tmp_path / "good.sqlite3", db=live)
        fresh = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "new.sqlite3")}
        assert services.restore(path, db=fresh, pre_restore_dir=tmp_path / "pre") is None
        assert snapshot(fresh["NAME"]) == snapshot(live["NAME"])


class CompactTestCase:
    def test_it_reclaims_the_space_of_deleted_rows_and_keeps_the_data(self, tmp_path):
        db = make_db(tmp_path / "big.sqlite3", accounts=2, entries=10)
        conn = sqlite3.connect(db["NAME"], isolation_level=None)
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO entry (account_id, amount, memo) VALUES (2, 1, ?)", [("m" * 400,)] * 3000
        )
        conn.execute("COMMIT")
        conn.execute("DELETE FROM entry WHERE memo != ''")
        conn.close()
        kept = snapshot(db["NAME"])
        before, after = services.compact(db=db)
        assert after < before
        assert snapshot(db["NAME"]) == kept
        assert scalar(db["NAME"], "PRAGMA integrity_check") == "ok"


class RestoreOverDamagedFileTestCase:
    """The current file is damaged: it is kept aside by a plain file copy, then replaced."""

    @pytest.mark.parametrize("how", HOW)
    def test_it_copies_the_damaged_file_aside_and_restores(self, how, tmp_path):
        live = make_db(tmp_path / "live.sqlite3", accounts=20, entries=50)
        original = snapshot(live["NAME"])
        path = services.backup(tmp_path / "good.sqlite3", db=live)
        damage(Path(live["NAME"]), how)
        damaged = Path(live["NAME"]).read_bytes()

        kept = services.restore(path, db=live, pre_restore_dir=tmp_path / "pre")

        assert kept is not None and kept.parent == tmp_path / "pre" and kept.name.startswith("damaged-")
        assert kept.read_bytes() == damaged and stat.S_IMODE(kept.stat().st_mode) == 0o600
        assert snapshot(live["NAME"]) == original
        assert scalar(live["NAME"], "PRAGMA journal_mode") == "wal"
        assert stat.S_IMODE(Path(live["NAME"]).stat().st_mode) == 0o600
        assert not list(tmp_path.glob("*.restoring*"))

    def test_it_copies_the_write_ahead_log_too_and_never_replays_it(self, tmp_path):
        src = make_db(tmp_path / "src.sqlite3", accounts=20, entries=50)
        path = services.backup(tmp_path / "good.sqlite3", db=src)
        writer = sqlite3.connect(src["NAME"], isolation_level=None)
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("INSERT INTO account (id, number) VALUES (999, 'only in the log')")
        crashed = tmp_path / "crashed.sqlite3"  # the files as a power cut leaves them
        for suffix in ("", "-wal", "-shm"):
            shutil.copyfile(f"{src['NAME']}{suffix}", f"{crashed}{suffix}")
        writer.close()
        damage(crashed, "middle")
        before = {s: Path(f"{crashed}{s}").read_bytes() for s in ("", "-wal")}

        kept = services.restore(path, db={**src, "NAME": str(crashed)}, pre_restore_dir=tmp_path / "pre")

        assert kept is not None and kept.name.startswith("damaged-")
        assert {s: Path(f"{kept}{s}").read_bytes() for s in ("", "-wal")} == before
        assert Path(f"{kept}-shm").exists()
        assert scalar(crashed, "SELECT COUNT(*) FROM account WHERE id = 999") == 0
        assert snapshot(crashed) == snapshot(path)

    def test_it_backs_up_a_sound_file_through_sqlite_as_before(self, live, tmp_path):
        path = services.backup(tmp_path / "good.sqlite3", db=live)
        pre = services.restore(path, db=live, pre_restore_dir=tmp_path / "pre")
        assert pre is not None and pre.name.startswith("pre-restore-")
        assert scalar(pre, "PRAGMA journal_mode") == "delete"  # a backup, not a copy of a WAL file

    def test_it_refuses_a_busy_file_rather_than_calling_it_damaged(self, live, tmp_path, monkeypatch):
        from prepay.dbcare import health

        monkeypatch.setattr(health, "BUSY_TIMEOUT", 0.1)
        path = services.backup(tmp_path / "good.sqlite3", db=live)
        holder = sqlite3.connect(live["NAME"], isolation_level=None)
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("INSERT INTO account (id, number) VALUES (77, 'held')")
        before = Path(live["NAME"]).read_bytes()
        try:
            with pytest.raises(services.DbCareError, match="cannot be read now"):
                services.restore(path, db=live, pre_restore_dir=tmp_path / "pre")
            assert Path(live["NAME"]).read_bytes() == before
            assert not (tmp_path / "pre").exists() or not list((tmp_path / "pre").iterdir())
        finally:
            holder.execute("ROLLBACK")
            holder.close()
