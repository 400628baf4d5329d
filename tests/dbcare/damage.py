"""Damaged SQLite files, and the real ``prepay`` command run on them in a process of its own.

The pytest database lives in memory, so damage is done to real files: a migrated Prepay database
(built once per test run by ``prepay migrate``) or the small file of :mod:`tests.dbcare.sqlitefile`.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HOW = ("middle", "truncated", "not_sqlite")

_migrated: dict[str, Path] = {}


def damage(path: Path, how: str) -> None:
    """Damage ``path`` in place: ``middle`` (8 KiB of random bytes written at its middle),
    ``truncated`` (cut to a third) or ``not_sqlite`` (replaced by text)."""
    size = path.stat().st_size
    if how == "middle":
        noise = random.Random(13).randbytes(8192)  # noqa: S311 - reproducible damage, not crypto
        with path.open("r+b") as fh:
            fh.seek(max(size // 2 - 4096, 100))
            fh.write(noise)
    elif how == "truncated":
        with path.open("r+b") as fh:
            fh.truncate(size // 3)
    elif how == "not_sqlite":
        path.write_text("meter,reading\nA0001,12.5\n" * 100)
    else:
        raise ValueError(how)


def env_for(var: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``prepay`` process using the embedded database in ``var``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PREPAY_", "DATABASE_URL", "LANG", "LC_"))
    }
    env.update({"PREPAY_VAR_DIR": str(var), "PREPAY_KEY_FILE": str(var / "store.key"), "LANG": "C.UTF-8"})
    env.update(extra)
    return env


def prepay(var: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run ``prepay ARGS`` (the console entry point) against the database in ``var``."""
    return subprocess.run(
        [sys.executable, "-m", "prepay.cli", *args],
        cwd=ROOT,
        env=env_for(var, **extra),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def migrated_var(tmp_path_factory: Any, into: Path) -> Path:
    """A ``var/`` folder at ``into`` holding a freshly migrated Prepay database and its store key
    (migrated once per test run, then copied)."""
    if "var" not in _migrated:
        var = tmp_path_factory.mktemp("migrated-var")
        from prepay.tokens import keystore as ks

        ks.write_key_file(var / "store.key", ks.StoreKey.generate())
        done = prepay(var, "migrate", "-v0")
        assert done.returncode == 0, done.stderr
        _migrated["var"] = var
    into.mkdir(parents=True, exist_ok=True)
    for name in ("prepay.sqlite3", "store.key"):
        shutil.copy2(_migrated["var"] / name, into / name)
    return into
