"""What every part of database care shares: its error, a finding of the check, which database it is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.utils.translation import gettext as _


class DbCareError(Exception):
    """A care operation could not be carried out; the message says why (never contains a password)."""


@dataclass(frozen=True)
class Finding:
    """One thing ``check`` found wrong: ``area`` (integrity, foreign_key, index, trigger, ledger, audit),
    ``where`` (table / account / event) and ``what`` (a sentence for people)."""

    area: str
    where: str
    what: str

    def __str__(self) -> str:
        return f"[{self.area}] {self.where}: {self.what}"


def db_settings(using: str = "default") -> dict[str, Any]:
    """The ``DATABASES`` entry of ``using`` (the live one: during tests, the test database)."""
    return dict(connections[using].settings_dict)


def vendor_of(db: Mapping[str, Any]) -> str:
    """``sqlite`` or ``postgresql`` from a ``DATABASES`` entry; anything else is refused."""
    engine = str(db.get("ENGINE", ""))
    if engine.endswith("sqlite3"):
        return "sqlite"
    if "postgresql" in engine:
        return "postgresql"
    raise DbCareError(_("Unsupported database engine: %(e)s") % {"e": engine})
