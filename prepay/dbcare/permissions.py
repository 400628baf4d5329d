"""Owner-only files: the embedded database, its backups, the key files and the secret key.

What Prepay keeps on disk holds personal data (the database and every backup) or the keys to it (the
store key, the Django secret key). Each is created readable and writable by its owner only (0600)
and the folders that hold them (``PREPAY_VAR_DIR``, ``PREPAY_BACKUP_DIR``) are 0700. SQLite creates
the ``-wal`` and ``-shm`` files with the rights of the database file, so a database file created
0600 (:func:`ensure_private_sqlite`) keeps its companions private too.

:func:`tighten_installation` runs at start-up (``DbcareConfig.ready``: every command, ``migrate``
included, and every server process) and tightens files and folders created by older versions.
Rights are never widened; a file that is not ours to change (another owner) is left as it is and
named in a warning.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from prepay.common.files import PRIVATE_DIR, PRIVATE_FILE, create_private_file, private_dir, tighten

__all__ = [  # the primitives live in prepay.common.files (the key store uses them too)
    "PRIVATE_DIR",
    "PRIVATE_FILE",
    "create_private_file",
    "create_private_sqlite",
    "ensure_private_sqlite",
    "private_dir",
    "sqlite_files",
    "sqlite_paths",
    "tighten",
    "tighten_installation",
]

SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")

log = logging.getLogger(__name__)


def sqlite_paths(path: Path) -> list[Path]:
    """The database file and its companions (-wal, -shm, -journal), existing or not."""
    return [path, *(Path(f"{path}{s}") for s in SQLITE_COMPANIONS)]


def create_private_sqlite(path: Path) -> None:
    """Before SQLite opens ``path``: create it empty with mode 0600 when it does not exist (SQLite
    reads an empty file as an empty database, and gives its -wal / -shm the same rights)."""
    if not path.exists():
        private_dir(path.parent)
        with contextlib.suppress(FileExistsError):  # another process created it meanwhile
            create_private_file(path)


def ensure_private_sqlite(path: Path) -> None:
    """:func:`create_private_sqlite`, and tighten an existing file and its companions to 0600."""
    create_private_sqlite(path)
    for p in sqlite_paths(path):
        tighten(p, PRIVATE_FILE)


def sqlite_files(databases: Mapping[str, Mapping[str, Any]]) -> Iterable[Path]:
    """The file of every SQLite database in ``databases`` (in-memory ones have none)."""
    for db in databases.values():
        name = str(db.get("NAME") or "")
        in_memory = not name or name == ":memory:" or name.startswith("file:") or "mode=memory" in name
        if str(db.get("ENGINE", "")).endswith("sqlite3") and not in_memory:
            yield Path(name)


def tighten_installation(databases: Mapping[str, Mapping[str, Any]] | None = None) -> list[Path]:
    """Make what Prepay keeps on disk owner-only; return the paths whose rights were reduced.

    ``PREPAY_VAR_DIR`` and ``PREPAY_BACKUP_DIR`` become 0700 (created if missing); every SQLite
    database file (created empty when missing, see :func:`ensure_private_sqlite`) and its companions,
    every backup in the backup folder, the secret key file, ``var/store.key`` and the file named by
    ``PREPAY_KEY_FILE`` become 0600. ``databases`` defaults to ``settings.DATABASES``.
    """
    from django.conf import settings

    changed: list[Path] = []
    var = Path(settings.VAR_DIR)
    backups = Path(settings.PREPAY_BACKUP_DIR)
    for folder in (var, backups):
        private_dir(folder)
        if tighten(folder, PRIVATE_DIR):
            changed.append(folder)
    files = [var / "secret_key", var / "store.key"]
    if key_file := os.environ.get("PREPAY_KEY_FILE"):
        files.append(Path(key_file))
    files += [p for p in backups.iterdir() if p.is_file()]
    for db in sqlite_files(settings.DATABASES if databases is None else databases):
        create_private_sqlite(db)
        files += sqlite_paths(db)
    for p in files:
        if tighten(p, PRIVATE_FILE):
            changed.append(p)
    return changed
