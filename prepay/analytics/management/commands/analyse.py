"""``prepay analyse``: the daily suspicious-consumption analysis (用电可疑户分析).

    prepay analyse                         # yesterday, every site
    prepay analyse --date 2026-06-11       # that day
    prepay analyse --site a1 --days 30     # the 30 days ending yesterday, in order (a backfill)

Idempotent per site and day: a re-run replaces the day's daily use and scores and updates its cases.
Days are analysed oldest first, because a day continues from the one before.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from prepay.analytics.run import analyse_site, sites

PHASES = 4  # summarise, facts, score, done


class Command(BaseCommand):
    help = _("Suspicious-consumption analysis: score every account's day and open cases")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--date", help=_("the day to analyse (YYYY-MM-DD; default: yesterday)"))
        parser.add_argument("--site", help=_("only this site (its code)"))
        parser.add_argument("--days", type=int, default=1, help=_("analyse this many days ending at --date"))

    def handle(self, *args: Any, **opts: Any) -> None:
        console = Console(file=self.stdout, highlight=False)  # type: ignore[arg-type]
        end = self._day(opts["date"])
        if not 1 <= opts["days"] <= 3660:
            raise CommandError(_("--days must be between 1 and 3660."))
        chosen = list(sites(opts["site"]))
        if opts["site"] and not chosen:
            raise CommandError(_("No site with code %(c)s.") % {"c": opts["site"]})
        days = [end - timedelta(days=n) for n in range(opts["days"] - 1, -1, -1)]
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=not console.is_terminal,
        ) as bar:
            task = bar.add_task(_("analysing"), total=len(days) * len(chosen) * PHASES)
            outcomes = []
            for day in days:
                for site in chosen:

                    def step(label: str, site: Any = site, day: date = day) -> None:
                        bar.update(task, advance=1, description=f"{site.code} {day} {label}")

                    outcomes.append(analyse_site(site, day, step=step))
        for o in outcomes:
            console.print(
                _("%(site)s %(day)s: %(m)s meters, %(s)s accounts scored, %(f)s flagged")
                % {"site": o.site.code, "day": o.day, "m": o.meters, "s": o.scored, "f": o.flagged}
            )

    @staticmethod
    def _day(text: str | None) -> date:
        if not text:
            return timezone.localdate() - timedelta(days=1)
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise CommandError(_("Not a date: %(d)s") % {"d": text}) from None
