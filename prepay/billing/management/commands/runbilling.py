"""``prepay runbilling``: the billing daemon (charge new readings, settle days and months, notify).

    prepay runbilling                      # loop for ever, one pass every --interval seconds
    prepay runbilling --once               # one pass, then exit
    prepay runbilling --settle daily --site a1 --date 2026-03-01     # (re-)run one settlement now
    prepay runbilling --settle monthly --site a1 --date 2026-03-01

Several workers may run side by side (on PostgreSQL): jobs and accounts are claimed with
``SELECT … FOR UPDATE SKIP LOCKED``. Re-running a settlement changes nothing already done.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from prepay.billing import jobs
from prepay.billing.models import JobKind
from prepay.tenancy.models import Site


class Command(BaseCommand):
    help = _("Billing daemon: charge new readings, run daily and monthly settlements, send notifications")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help=_("one pass, then exit"))
        parser.add_argument("--interval", type=float, default=60.0, help=_("seconds between passes"))
        parser.add_argument("--worker", default="", help=_("worker name shown on claimed jobs"))
        parser.add_argument("--settle", choices=[k.value for k in JobKind], help=_("run one settlement now"))
        parser.add_argument("--site", help=_("site code for --settle"))
        parser.add_argument("--date", help=_("first day of the period for --settle (YYYY-MM-DD)"))

    def handle(self, *args: Any, **opts: Any) -> None:
        console = Console(file=self.stdout, highlight=False)  # type: ignore[arg-type]
        worker = opts["worker"] or jobs.worker_name()
        if opts["settle"]:
            self._settle(console, worker, opts)
            return
        try:
            self._loop(console, worker, opts)
        except KeyboardInterrupt:  # Ctrl+C or SIGINT: the transaction in progress rolls back
            console.print(_("Stopped."))

    def _loop(self, console: Console, worker: str, opts: dict[str, Any]) -> None:
        while True:
            with self._progress(console) as bar:
                out = jobs.tick(worker, progress=self._step(bar, bar.add_task(_("charging"), total=None)))
            console.print(
                _("charged %(c)s accounts, ran %(j)s jobs, sent %(n)s notifications")
                % {"c": out["charged"], "j": out["jobs"], "n": out["notified"]}
            )
            if out["keep_power"] or out["released"]:
                console.print(
                    _("protected supply: keep-power sent for %(k)s, released for %(r)s")
                    % {"k": out["keep_power"], "r": out["released"]}
                )
            if out["restores_overdue"]:
                console.print(
                    _("clerks told of %(n)s supply restores not confirmed in time")
                    % {"n": out["restores_overdue"]}
                )
            if opts["once"]:
                return
            time.sleep(opts["interval"])

    @staticmethod
    def _step(bar: Progress, task: Any) -> jobs.Progress:
        def step(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return step

    def _progress(self, console: Console) -> Progress:
        return Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=not console.is_terminal,
        )

    def _settle(self, console: Console, worker: str, opts: dict[str, Any]) -> None:
        if not opts["site"] or not opts["date"]:
            raise CommandError(_("--settle needs --site and --date"))
        site = Site.objects.filter(code=opts["site"]).order_by("pk").first()
        if site is None:
            raise CommandError(_("No site with code %(c)s.") % {"c": opts["site"]})
        try:
            start = date.fromisoformat(opts["date"])
        except ValueError:
            raise CommandError(_("Not a date: %(d)s") % {"d": opts["date"]}) from None
        if opts["settle"] == JobKind.MONTHLY:
            start = start.replace(day=1)
        job = jobs.enqueue(opts["settle"], site, start)
        claimed = jobs.claim(worker)
        while claimed is not None and claimed.pk != job.pk:  # older due jobs first: run them too
            jobs.run_job(claimed)
            claimed = jobs.claim(worker)
        if claimed is None:
            raise CommandError(_("The job is being run by another worker."))
        with self._progress(console) as bar:
            task = bar.add_task(str(job), total=None)
            done = jobs.run_job(claimed, progress=self._step(bar, task))
        console.print(f"{done}: " + ", ".join(f"{k}={v}" for k, v in done.result.items()))
