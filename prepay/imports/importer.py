"""All-or-nothing import of units, customers or meters from a CSV or XLSX file.

Contract of :func:`run_import`:

1. The whole file is read and every row validated first; every problem is collected with its row
   number, column and a message. If there is any, nothing is written.
2. Otherwise every row is written inside ONE transaction through the business actions (each writes
   its own audit event). If an action refuses a row, the write phase goes on to report further
   refusals, then everything is rolled back and the report names those rows.
3. ``dry_run`` runs steps 1 and 2 but always rolls back, so it finds everything a real run would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from prepay.common.errors import ActionError
from prepay.imports.base import ImportReport, Row, RowError
from prepay.imports.columns import COLUMNS, KINDS, match_header
from prepay.imports.kinds import IMPORTERS
from prepay.imports.readers import FileError, read_table
from prepay.tenancy.scoping import reach

Progress = Callable[[int, int], None]


class _Rollback(Exception):
    """Raised inside the write transaction to undo it."""


def may_import(user: Any) -> bool:
    """True when ``user`` holds ``import.run`` on at least one site (or is a platform operator)."""
    r = reach(user, "import.run")
    return r.all or bool(r.group_ids or r.site_ids)


def map_header(kind: str, header: list[str], report: ImportReport) -> tuple[list[str | None], dict[str, str]]:
    """Canonical key per column (None for an empty header) and the header text per key; errors on row 1."""
    keys: list[str | None] = []
    names: dict[str, str] = {}
    for text in header:
        if not text:
            keys.append(None)
            continue
        key = match_header(kind, text)
        if key is None:
            report.errors.append(
                RowError(1, text, _("Unknown column for a %(kind)s import.") % {"kind": kind})
            )
        elif key in names:
            report.errors.append(
                RowError(
                    1, text, _("Column %(c)s appears twice (also as %(o)s).") % {"c": key, "o": names[key]}
                )
            )
        else:
            names[key] = text
        keys.append(key if key not in names or names[key] == text else None)
    for col in COLUMNS[kind]:
        if col.required and col.key not in names:
            report.errors.append(
                RowError(
                    1,
                    col.key,
                    _("Required column %(en)s (%(zh)s) is missing.") % {"en": col.key, "zh": col.zh},
                )
            )
    return keys, names


def run_import(
    kind: str,
    data: bytes,
    *,
    actor: Any,
    filename: str = "",
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import ``data`` (CSV or XLSX bytes) as ``kind`` for ``actor``; see the module docstring."""
    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r}")
    report = ImportReport(kind=kind, dry_run=dry_run)
    if not may_import(actor):
        report.errors.append(RowError(None, "", _("You are not allowed to import data.")))
        return report
    try:
        table = read_table(data, filename)
    except FileError as exc:
        report.errors.append(RowError(None, "", str(exc)))
        return report
    keys, names = map_header(kind, table[0], report)
    if report.errors:
        return report  # rows cannot be read reliably under a wrong header

    importer = IMPORTERS[kind](actor, report, names)
    plans: list[Any] = []
    for number, cells in enumerate(table[1:], start=2):
        if not any(cells):
            continue
        report.rows += 1
        row = Row(number, {k: v for k, v in zip(keys, cells, strict=False) if k is not None})
        stray = [c for i, c in enumerate(cells) if c and (i >= len(keys) or keys[i] is None)]
        if stray:
            importer.error(row, "", _("A value in a column without a header: %(v)s") % {"v": stray[0]})
        plan = importer.check(row)
        if plan is not None and not row.bad:
            plans.append(plan)
    importer.finish()
    if report.rows == 0:
        report.errors.append(RowError(None, "", _("The file has a header but no data rows.")))
    if report.errors:
        report.errors.sort(key=lambda e: e.row or 0)
        return report

    try:
        with transaction.atomic():
            for done, plan in enumerate(plans, start=1):
                try:
                    importer.write(plan)
                except ActionError as exc:
                    report.errors.append(RowError(plan.row, "", str(exc.message)))
                except IntegrityError as exc:  # a concurrent writer took the same number meanwhile
                    report.errors.append(
                        RowError(
                            plan.row, "", _("The row conflicts with data saved meanwhile: %(e)s") % {"e": exc}
                        )
                    )
                if progress is not None:
                    progress(done, len(plans))
            if report.errors or dry_run:
                raise _Rollback
    except _Rollback:
        pass
    if report.errors:
        report.created = {}
    return report
