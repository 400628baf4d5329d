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
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")

log = logging.getLogger(__name__)


def tighten(path: Path, mode: int) -> bool:
    """Remove every right of ``path`` beyond ``mode`` (group and others); True when it changed.

    A missing path is no error; one we may not change is logged and left alone.
    """
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return False
    wanted = current & mode
    if wanted == current:
        return False
    try:
        os.chmod(path, wanted)
    except OSError as exc:
        log.warning("cannot restrict the rights of %s: %s", path, exc.strerror)
        return False
    return True


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) with mode 0700; an existing folder is left as it is
    (the caller tightens the folders that are Prepay's own, e.g. ``PREPAY_VAR_DIR``)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    for p in missing:
        tighten(p, PRIVATE_DIR)  # mkdir's mode is masked by the umask; parents get the default
    return path


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 (it must not exist): write into it afterwards, and no
    other user ever had a chance to open it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)  # the umask may have removed rights, never added: this is exact
    os.close(fd)


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
