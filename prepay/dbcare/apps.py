from __future__ import annotations

import logging

from django.apps import AppConfig

log = logging.getLogger(__name__)


class DbcareConfig(AppConfig):
    name = "prepay.dbcare"
    label = "dbcare"

    def ready(self) -> None:
        """Make the files Prepay keeps on disk owner-only (see :mod:`prepay.dbcare.permissions`)
        before any database connection is opened: every command, ``migrate`` included, and every
        server process starts here."""
        from django.core import checks

        from prepay.dbcare.configcheck import check_stored_configuration
        from prepay.dbcare.permissions import tighten_installation

        # the stored configuration a sale depends on, re-read at start-up (Warning level)
        checks.register(check_stored_configuration, "prepay")

        try:
            changed = tighten_installation()
        except OSError as exc:  # a read-only installation still starts; the rights stay as they are
            log.warning("cannot make the data folder private: %s", exc)
            return
        for path in changed:
            log.info("restricted %s to its owner", path)
