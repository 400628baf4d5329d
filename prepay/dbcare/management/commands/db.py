"""``prepay db``: backup, restore, check and compact the database (SQLite or PostgreSQL); on
PostgreSQL, list and maintain the readings' monthly partitions.

Exit codes: 0 done / all good; 1 ``check`` found problems or an operation failed; ``restore``
without ``--yes`` on a non-interactive stdin refuses with exit code 2.
"""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import Error as DatabaseError
from django.db import connections
from django.utils.translation import gettext as _

from prepay.dbcare import health, services


def human_size(n: int) -> str:
    """Bytes as a short human figure (1.2 MB)."""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def _close_connections() -> None:
    """Close Django's connections, except one inside a transaction (a caller's atomic block or a test)."""
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close()


class Command(BaseCommand):
    help = _("Database care: backup, restore, check, compact.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(
            dest="action", required=True, metavar="{backup,restore,check,compact,partitions}"
        )
        b = sub.add_parser("backup", help=_("Online, consistent backup (SQLite backup API / pg_dump)."))
        b.add_argument(
            "-o",
            "--output",
            metavar="PATH",
            help=_("A file or directory (default: PREPAY_BACKUP_DIR, timestamped name)."),
        )
        r = sub.add_parser(
            "restore", help=_("Replace the database with a backup (the current one is kept first).")
        )
        r.add_argument("path", metavar="PATH", help=_("The backup file."))
        r.add_argument("--yes", action="store_true", help=_("Do not ask for confirmation."))
        sub.add_parser(
            "check", help=_("Integrity, foreign keys, ledger and audit invariants; exit 1 on findings.")
        )
        c = sub.add_parser("compact", help=_("Reclaim space and refresh statistics (VACUUM)."))
        c.add_argument(
            "--full",
            action="store_true",
            help=_("PostgreSQL: VACUUM FULL (rewrites and locks each table in turn)."),
        )

        p = sub.add_parser(
            "partitions",
            help=_("PostgreSQL: create the readings' monthly partitions ahead and list them."),
        )
        p.add_argument(
            "--retain",
            type=int,
            metavar="MONTHS",
            help=_("Also archive months older than this many whole months (at least 3)."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the subcommand; any failure ends in one line on stderr and exit code 1 (never a
        traceback: a damaged database file is named with what to do about it)."""
        action = options["action"]
        try:
            getattr(self, f"do_{action}")(options)
        except services.DbCareError as exc:
            raise CommandError(str(exc), returncode=1) from None
        except DatabaseError as exc:
            raise CommandError(services.unreadable(exc), returncode=1) from None

    # -- subcommands ------------------------------------------------------------------------------

    def do_backup(self, options: dict[str, Any]) -> None:
        path = services.backup(options.get("output"))
        self.stdout.write(
            _("Backup written: %(path)s (%(size)s)") % {"path": path, "size": human_size(path.stat().st_size)}
        )

    def do_restore(self, options: dict[str, Any]) -> None:
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(_("Backup file %(p)s does not exist.") % {"p": path}, returncode=1)
        if not options["yes"]:
            if not sys.stdin.isatty():
                raise CommandError(
                    _("Restoring replaces every row of the database. Run again with --yes to confirm."),
                    returncode=2,
                )
            answer = input(_("Replace the whole database with %(p)s? Type yes to continue: ") % {"p": path})
            if answer.strip().lower() not in {"yes", _("yes")}:
                raise CommandError(_("Nothing was changed."), returncode=2)
        _close_connections()  # nothing of ours holds the database while it is replaced
        pre = services.restore(path)
        if pre is not None and pre.name.startswith("damaged-"):
            self.stdout.write(
                _("The current database file was damaged; it was copied aside to %(p)s") % {"p": pre}
            )
        elif pre is not None:
            self.stdout.write(_("The previous database was saved to %(p)s") % {"p": pre})
        self.stdout.write(_("Restored from %(p)s. Checking…") % {"p": path})
        _close_connections()  # the check must read the restored database on fresh connections
        self._report(services.check())

    def do_check(self, options: dict[str, Any]) -> None:
        health.ensure_readable(services.db_settings())
        self._report(services.check())

    def do_partitions(self, options: dict[str, Any]) -> None:
        from prepay.telemetry import partitions

        if not partitions.partitioned():
            raise CommandError(
                _("The readings table is partitioned on PostgreSQL only; this database keeps one table."),
                returncode=1,
            )
        retain = options["retain"]
        if retain is not None and retain < 3:
            raise CommandError(_("--retain must be at least 3 months."), returncode=1)
        for name in partitions.ensure():
            self.stdout.write(_("Created %(p)s") % {"p": name})
        if retain is not None:
            done, kept = partitions.retain(retain)
            for name in done:
                self.stdout.write(_("Archived %(p)s") % {"p": name})
            for name in kept:
                self.stdout.write(_("Kept %(p)s: it holds readings not yet charged") % {"p": name})
        for part in partitions.listing():
            span = (
                _("readings no month holds")
                if part.start is None or part.end is None
                else f"{part.start:%Y-%m-%d} – {part.end:%Y-%m-%d}"
            )
            rows = "?" if part.rows is None else f"~{part.rows:,}"
            self.stdout.write(f"{part.name:<36} {span:<26} {rows:>13} {human_size(part.size):>10}")
        for name in partitions.archived():
            self.stdout.write(_("%(p)s (archived)") % {"p": f"{partitions.ARCHIVE_SCHEMA}.{name}"})

    def do_compact(self, options: dict[str, Any]) -> None:
        before, after = services.compact(full=options["full"])
        self.stdout.write(
            _("Compacted: %(before)s → %(after)s")
            % {"before": human_size(before), "after": human_size(after)}
        )

    # -- output -----------------------------------------------------------------------------------

    def _report(self, findings: list[services.Finding]) -> None:
        """Print each finding (area, where, what) and raise CommandError(1) when there are any."""
        if not findings:
            self.stdout.write(_("OK: integrity, foreign keys, ledger and audit chain are consistent."))
            return
        for f in findings:
            self.stderr.write(str(f))
        raise CommandError(
            _("%(n)s problems found. See docs/database-care.md, “When check fails”.") % {"n": len(findings)},
            returncode=1,
        )
