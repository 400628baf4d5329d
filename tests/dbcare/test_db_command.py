"""``prepay db backup|restore|check|compact`` (SQLite file-level parts run against a temporary file)."""

from __future__ import annotations

import io
import stat
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from prepay.dbcare import services
from prepay.vending.models import EntryKind, LedgerEntry
from tests import factories as f
from tests.dbcare.damage import HOW, damage, migrated_var, prepay
from tests.dbcare.sqlitefile import make_db, snapshot


def run(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("db", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), err.getvalue() + str(exc)
    return 0, out.getvalue(), err.getvalue()


@pytest.fixture
def filedb(tmp_path, monkeypatch, settings):
    """Point the file-level operations at a temporary SQLite file (the test database is in memory)."""
    db = make_db(tmp_path / "live.sqlite3")
    monkeypatch.setattr(services, "db_settings", lambda using="default": db)
    settings.PREPAY_BACKUP_DIR = tmp_path / "backups"
    return db


class DbBackupCommandTestCase:
    def test_it_prints_the_path_and_size(self, filedb, tmp_path):
        code, out, _ = run("backup")
        assert code == 0 and out.startswith("Backup written: ") and out.strip().endswith("KB)")
        written = list((tmp_path / "backups").glob("prepay-*.sqlite3"))
        assert len(written) == 1 and str(written[0]) in out

    def test_it_writes_where_told(self, filedb, tmp_path):
        code, out, _ = run("backup", "-o", str(tmp_path / "mine.sqlite3"))
        assert code == 0 and (tmp_path / "mine.sqlite3").exists()

    def test_it_fails_with_exit_1_and_a_reason(self, filedb, tmp_path):
        (tmp_path / "taken").write_text("")
        code, _, err = run("backup", "-o", str(tmp_path / "taken"))
        assert code == 1 and "already exists" in err


class DbRestoreCommandTestCase:
    def test_it_refuses_without_yes_when_stdin_is_not_a_terminal(self, filedb, tmp_path, monkeypatch):
        path = services.backup(tmp_path / "b.sqlite3", db=filedb)
        monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
        code, _, err = run("restore", str(path))
        assert code == 2 and "--yes" in err
        assert not (tmp_path / "backups").exists()  # not even the pre-restore copy was taken

    def test_it_restores_keeps_the_old_database_and_runs_check(self, db, filedb, tmp_path):
        original = snapshot(filedb["NAME"])
        path = services.backup(tmp_path / "b.sqlite3", db=filedb)
        import sqlite3

        sqlite3.connect(filedb["NAME"], isolation_level=None).execute("DELETE FROM account WHERE id = 3")
        code, out, _ = run("restore", str(path), "--yes")
        assert code == 0, out
        assert snapshot(filedb["NAME"]) == original
        assert "The previous database was saved to" in out and "pre-restore-" in out
        assert "OK: integrity" in out

    def test_it_refuses_a_missing_file(self, filedb, tmp_path):
        assert run("restore", str(tmp_path / "nope"), "--yes")[0] == 1


class DbCheckCommandTestCase:
    def test_it_exits_0_on_consistent_data(self, world):
        code, out, _ = run("check")
        assert (code, out.strip()) == (
            0,
            "OK: integrity, foreign keys, ledger and audit chain are consistent.",
        )

    def test_it_prints_each_finding_and_exits_1(self, world):
        acc = f.account(world.a1)
        LedgerEntry.objects.create(
            account=acc, seq=1, kind=EntryKind.PAYMENT, amount=Decimal("5.00"), balance_after=Decimal("50.00")
        )
        code, _, err = run("check")
        assert code == 1
        assert f"[ledger] account id {acc.pk} entry #1" in err
        # the raw insert also bypassed the journal: the customer book disagrees with the ledger; and
        # no audit event accounts for it
        assert f"[journal] account id {acc.pk}" in err and f"[unaudited] account id {acc.pk} entry #1" in err
        assert "4 problems found" in err


class DbCompactCommandTestCase:
    def test_it_prints_the_size_before_and_after(self, filedb):
        code, out, _ = run("compact")
        assert code == 0 and out.startswith("Compacted: ") and "→" in out

    def test_it_refuses_vacuum_inside_a_transaction_on_postgresql(self, db, monkeypatch):
        if connection.vendor != "postgresql":
            pytest.skip("PostgreSQL only: the SQLite compaction runs on its own connection")
        with pytest.raises(services.DbCareError, match="inside a transaction"):
            services.compact()


class DbCheckDamagedFileTestCase:
    """On a damaged database file the real command ends in one line, in the user's language."""

    @pytest.mark.parametrize("how", HOW)
    def test_it_exits_1_with_one_line_and_no_traceback(self, how, tmp_path_factory, tmp_path):
        var = migrated_var(tmp_path_factory, tmp_path / "var")
        damage(var / "prepay.sqlite3", how)
        done = prepay(var, "db", "check")
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 1 and not done.stdout
        assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
        assert f"The database file {var / 'prepay.sqlite3'} is damaged" in lines[0]
        assert "prepay db restore" in lines[0]

    def test_it_speaks_chinese(self, tmp_path_factory, tmp_path):
        var = migrated_var(tmp_path_factory, tmp_path / "var")
        damage(var / "prepay.sqlite3", "truncated")
        done = prepay(var, "db", "check", LANG="zh_CN.UTF-8")
        assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
        assert "数据库文件" in done.stderr and "已损坏" in done.stderr and "被截断" in done.stderr

    def test_it_says_an_empty_database_needs_migrating(self, filedb, tmp_path, monkeypatch):
        empty = tmp_path / "empty.sqlite3"
        empty.write_bytes(b"")
        monkeypatch.setattr(services, "db_settings", lambda using="default": {**filedb, "NAME": str(empty)})
        code, out, err = run("check")
        assert code == 1 and not out and "run `prepay migrate` first" in err and "\n" not in err.strip()


class DbRestoreDamagedCommandTestCase:
    def test_it_restores_over_a_damaged_file_and_keeps_a_copy_of_it(self, tmp_path_factory, tmp_path):
        var = migrated_var(tmp_path_factory, tmp_path / "var")
        live = var / "prepay.sqlite3"
        made = prepay(var, "db", "backup", "-o", str(tmp_path / "good.sqlite3"))
        assert made.returncode == 0, made.stderr
        damage(live, "middle")
        damaged = live.read_bytes()
        done = prepay(var, "db", "restore", str(tmp_path / "good.sqlite3"), "--yes")
        assert done.returncode == 0, done.stderr
        assert "was damaged; it was copied aside to" in done.stdout and "OK: integrity" in done.stdout
        [kept] = (var / "backups").glob("damaged-*.sqlite3")
        assert kept.read_bytes() == damaged and stat.S_IMODE(kept.stat().st_mode) == 0o600
        assert prepay(var, "db", "check").returncode == 0
        assert prepay(var, "audit", "verify").returncode == 0
