"""Owner-only files and folders (0600 / 0700), for every app that writes something private to disk:
the store key (``prepay.tokens.keystore``), the database and its backups (``prepay.dbcare``). See
``prepay.dbcare.permissions`` for what is kept private and when rights are tightened.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700

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
