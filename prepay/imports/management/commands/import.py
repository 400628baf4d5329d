"""``prepay import {units,customers,meters} FILE --user NAME [--dry-run] [--report FILE.csv]``
and ``prepay import template KIND [--format csv|xlsx] [--headers en|zh] [--user NAME] -o FILE``.

Exit status: 0 imported (or dry run clean, or template written); 1 the file has errors and nothing
was written; 2 bad usage (unknown user, unreadable path, missing argument).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from prepay.imports.base import ImportReport
from prepay.imports.columns import KINDS
from prepay.imports.importer import run_import
from prepay.imports.samples import FORMATS, template_bytes

#: show a progress bar from this many rows on
PROGRESS_MIN_ROWS = 200


class Command(BaseCommand):
    help = "Import customers, units or meters from CSV / Excel (all or nothing), or write a template file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "what",
            choices=[*KINDS, "template"],
            help=_("What to import, or `template` to write a template file"),
        )
        parser.add_argument("target", nargs="?", help=_("The file to import; for `template`, the kind"))
        parser.add_argument(
            "--user", "-u", help=_("Username of the staff member importing (checks their permissions)")
        )
        parser.add_argument("--dry-run", action="store_true", help=_("Validate only; write nothing"))
        parser.add_argument(
            "--report", metavar="FILE.csv", help=_("Write the row-by-row error report as CSV")
        )
        parser.add_argument(
            "--format", choices=FORMATS, help=_("Template format (default: from -o, else csv)")
        )
        parser.add_argument(
            "--headers", choices=["en", "zh"], default="en", help=_("Template header language")
        )
        parser.add_argument(
            "-o", "--output", help=_("Template output file (default: standard output, CSV only)")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["what"] == "template":
            self.template(options)
            return
        self.import_file(options["what"], options)

    def _user(self, username: str | None) -> Any:
        if not username:
            raise CommandError(_("Give the importing user with --user USERNAME."), returncode=2)
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(_("No active user %(u)s.") % {"u": username}, returncode=2)
        return user

    def template(self, options: dict[str, Any]) -> None:
        kind, output = options["target"], options["output"]
        if kind not in KINDS:
            raise CommandError(
                _("Give the kind of template: %(kinds)s.") % {"kinds": ", ".join(KINDS)}, returncode=2
            )
        fmt = options["format"] or ("xlsx" if output and output.lower().endswith(".xlsx") else "csv")
        if fmt == "xlsx" and not output:
            raise CommandError(_("An .xlsx template needs an output file: -o FILE.xlsx"), returncode=2)
        actor = self._user(options["user"]) if options["user"] else None
        data = template_bytes(kind, fmt, language=options["headers"], actor=actor)
        if output:
            Path(output).write_bytes(data)
            self.stdout.write(_("Wrote %(f)s.") % {"f": output})
        else:
            self.stdout.write(data.decode("utf-8-sig"), ending="")

    def import_file(self, kind: str, options: dict[str, Any]) -> None:
        path = options["target"]
        if not path:
            raise CommandError(_("Give the file to import."), returncode=2)
        actor = self._user(options["user"])
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise CommandError(
                _("Cannot read %(f)s: %(e)s") % {"f": path, "e": exc.strerror}, returncode=2
            ) from None
        with _ProgressBar(self.stderr) as bar:
            report = run_import(
                kind, data, actor=actor, filename=path, dry_run=options["dry_run"], progress=bar.update
            )
        self.print_report(report)
        if options["report"]:
            out = io.StringIO(newline="")
            report.write_csv(out)
            Path(options["report"]).write_bytes(out.getvalue().encode("utf-8-sig"))
        if not report.ok:
            raise CommandError(_("Nothing was imported."), returncode=1)

    def print_report(self, report: ImportReport) -> None:
        for e in report.errors:
            where = _("row %(r)s") % {"r": e.row} if e.row is not None else _("file")
            column = f" [{e.column}]" if e.column else ""
            value = f" ({e.value!r})" if e.value else ""
            self.stdout.write(f"{where}{column}{value}: {e.message}")
        style = self.style.SUCCESS if report.ok else self.style.ERROR
        self.stdout.write(style(report.summary()))


class _ProgressBar:
    """A rich progress bar on stderr, started only once the write phase has many rows."""

    def __init__(self, stream: Any) -> None:
        self.stream = getattr(stream, "_out", sys.stderr)
        self.progress: Any = None
        self.task: Any = None

    def __enter__(self) -> _ProgressBar:
        return self

    def update(self, done: int, total: int) -> None:
        if total < PROGRESS_MIN_ROWS:
            return
        if self.progress is None:
            from rich.console import Console
            from rich.progress import Progress

            self.progress = Progress(console=Console(file=self.stream), transient=True)
            self.progress.start()
            self.task = self.progress.add_task(_("Writing"), total=total)
        self.progress.update(self.task, completed=done)

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()
