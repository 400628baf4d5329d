"""The database, its -wal/-shm, backups, key files and the secret key are readable by their owner
only (0600), in folders only their owner may enter (0700); older installations are tightened."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

from prepay.dbcare import permissions, services
from prepay.tokens import keystore as ks
from tests.dbcare.damage import migrated_var, prepay
from tests.dbcare.sqlitefile import make_db


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class PermissionsTestCase:
    def test_a_new_database_and_its_wal_and_shm_are_owner_only(self, tmp_path):
        path = tmp_path / "var" / "prepay.sqlite3"
        permissions.ensure_private_sqlite(path)
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
        assert [mode(Path(f"{path}{s}")) for s in ("", "-wal", "-shm")] == [0o600] * 3
        conn.close()
        assert mode(path.parent) == 0o700

    def test_backups_and_the_folders_made_for_them_are_owner_only(self, tmp_path, settings):
        live = make_db(tmp_path / "live.sqlite3")
        settings.PREPAY_BACKUP_DIR = tmp_path / "var" / "backups"
        made = services.backup(db=live)
        assert (mode(made), mode(made.parent), mode(made.parent.parent)) == (0o600, 0o700, 0o700)
        pre = services.restore(made, db=live)
        assert pre is not None and mode(pre) == 0o600

    def test_it_tightens_an_older_installation(self, tmp_path, settings, monkeypatch):
        var, backups = tmp_path / "var", tmp_path / "var" / "backups"
        backups.mkdir(parents=True)
        db = var / "prepay.sqlite3"
        key_file = tmp_path / "keys" / "store.key"
        ks.write_key_file(key_file, ks.StoreKey.generate())
        files = [
            db,
            Path(f"{db}-wal"),
            var / "secret_key",
            var / "store.key",
            backups / "old.sqlite3",
            key_file,
        ]
        for p in files:
            p.touch()
            p.chmod(0o644)
        for d in (var, backups):
            d.chmod(0o755)
        settings.VAR_DIR, settings.PREPAY_BACKUP_DIR = var, backups
        monkeypatch.setenv("PREPAY_KEY_FILE", str(key_file))
        databases = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(db)}}
        changed = permissions.tighten_installation(databases)
        assert set(changed) == {*files, var, backups}
        assert [mode(p) for p in files] == [0o600] * len(files) and (mode(var), mode(backups)) == (
            0o700,
            0o700,
        )
        assert permissions.tighten_installation(databases) == []  # nothing left to do
        assert mode(key_file.parent) == 0o700  # made by write_key_file

    def test_it_never_widens_rights(self, tmp_path):
        path = tmp_path / "f"
        path.touch()
        path.chmod(0o400)
        assert permissions.tighten(path, 0o600) is False and mode(path) == 0o400

    def test_the_secret_key_is_created_owner_only(self, tmp_path, monkeypatch):
        import prepay.settings as prepay_settings

        monkeypatch.delenv("PREPAY_SECRET_KEY", raising=False)
        monkeypatch.setattr(prepay_settings, "VAR_DIR", tmp_path / "var")
        key = prepay_settings._secret_key()
        path = tmp_path / "var" / "secret_key"
        assert key and path.read_text() == key and (mode(path), mode(path.parent)) == (0o600, 0o700)
        assert prepay_settings._secret_key() == key

    def test_every_command_tightens_at_start_up(self, tmp_path_factory, tmp_path):
        var = migrated_var(tmp_path_factory, tmp_path / "var")
        (var / "backups").mkdir()
        loose = [var / "prepay.sqlite3", var / "store.key", var / "backups" / "b.sqlite3"]
        loose[-1].touch()
        for p in loose:
            p.chmod(0o644)
        var.chmod(0o755)
        done = prepay(var, "audit", "verify")
        assert done.returncode == 0, done.stderr
        assert [mode(p) for p in loose] == [0o600] * 3 and mode(var) == 0o700
        assert mode(var / "secret_key") == 0o600
