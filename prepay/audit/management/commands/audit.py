"""``prepay audit``: verify the hash chain of the audit log, or list recent events.

``prepay audit verify`` checks every chain (the main one and each site's) and exits 0 when they are intact and 1 when an event was altered, inserted,
deleted or forged (its seal does not match: written without the audit key), and when the database
file cannot be read (one line); the message names the event (``#12`` in the main chain, ``3#12`` in
site 3's chain) and its id. Checking the
seals needs the store key (docs/audit.md). ``prepay audit list`` prints the newest
events, optionally for one site code and/or one verb.
"""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from contextlib import nullcontext
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from prepay.audit.chain import MAIN, Problem, Verification, verify_log
from prepay.audit.models import AuditEvent, AuditHead, chain_label


def describe_problem(problem: Problem) -> str:
    """One line naming the kind, the event's sequence number and id, and what is wrong."""
    kinds = {
        "altered": _("altered"),
        "inserted": _("inserted"),
        "deleted": _("deleted"),
        "head": _("head mismatch"),
        "forged": _("forged"),
        "unkeyed": _("not sealed"),
        "key": _("audit key unavailable"),
    }
    return _("BROKEN: %(where)s %(kind)s [%(code)s]: %(detail)s") % {
        "where": problem.where,
        "kind": kinds.get(problem.kind, problem.kind),
        "code": problem.kind,
        "detail": problem.detail,
    }


class Command(BaseCommand):
    help = _("Audit log: `verify` checks the hash chain (exit 1 when broken); `list` shows recent events.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{verify,list}")
        sub.add_parser(
            "verify", help=_("Check every event against its hash and the chain; exit 1 on the first problem.")
        )
        lst = sub.add_parser("list", help=_("Show the newest events."))
        lst.add_argument("-n", "--limit", type=int, default=20, help=_("How many events (default 20)."))
        lst.add_argument("--site", metavar="CODE", help=_("Only events of the site with this code."))
        lst.add_argument("--verb", help=_("Only this verb; a trailing * matches a prefix (meter.*)."))
        lst.add_argument("--changes", action="store_true", help=_("Also print before/after."))

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the subcommand; a database that cannot be read ends in one line and exit code 1."""
        from django.db import Error as DatabaseError

        from prepay.dbcare import health, services

        try:
            health.ensure_readable(services.db_settings())
            if options["action"] == "verify":
                self.verify()
            else:
                self.list(options)
        except services.DbCareError as exc:
            raise CommandError(str(exc), returncode=1) from None
        except DatabaseError as exc:
            raise CommandError(services.unreadable(exc), returncode=1) from None

    # -- verify -----------------------------------------------------------------------------------

    def verify(self) -> None:
        """Print "OK: N events in C chains" and each chain's head, or the first problem and raise
        CommandError(1)."""
        total = AuditHead.objects.aggregate(n=Sum("seq"))["n"] or 0
        use_bar = self.stdout.isatty() and total >= 5000
        bar_ctx: Any = nullcontext(None)
        if use_bar:
            from rich.console import Console
            from rich.progress import Progress

            out: IO[str] = getattr(self.stdout, "_out", sys.stdout)
            bar_ctx = Progress(console=Console(file=out), transient=True)
        with bar_ctx as bar:
            task = bar.add_task(_("Verifying audit log"), total=total) if bar is not None else None

            def progress(n: int) -> None:
                if bar is not None and task is not None:
                    bar.update(task, completed=n)

            result = verify_log(progress=progress)
        if result.problem is not None:
            self.stderr.write(describe_problem(result.problem))
            self.stderr.write(_("%(n)s events checked before the problem.") % {"n": result.count})
            raise CommandError(_("The audit chain is broken."), returncode=1)
        self.stdout.write(self.ok_lines(result))

    def ok_lines(self, result: Verification) -> str:
        """ "OK: N events in C chains (audit keys ...)", then a line per chain: its events, head and
        first sealed event (the head's hash is what an auditor writes down to compare later)."""
        from prepay.tenancy.models import Site

        codes = dict(Site.objects.filter(id__in=[c.chain for c in result.chains]).values_list("id", "code"))
        lines = [
            ngettext(
                "OK: %(n)s events in %(chains)s chain",
                "OK: %(n)s events in %(chains)s chains",
                len(result.chains),
            )
            % {"n": result.count, "chains": len(result.chains)}
            + (_(" (audit keys %(keys)s)") % {"keys": ", ".join(result.key_ids)} if result.key_ids else "")
        ]
        for c in result.chains:
            name = (
                _("main chain")
                if c.chain == MAIN
                else _("site %(code)s") % {"code": codes.get(c.chain, f"id {c.chain}")}
            )
            line = _("  %(name)s: %(n)s events, head #%(seq)s %(hash)s") % {
                "name": name,
                "n": c.count,
                "seq": c.head_seq,
                "hash": c.head_hash[:16],
            }
            if c.keyed_from is not None:
                line += _(", sealed from #%(seq)s") % {"seq": c.keyed_from}
            lines.append(line)
        return "\n".join(lines)

    # -- list -------------------------------------------------------------------------------------

    def list(self, options: dict[str, Any]) -> None:
        """Print the newest ``--limit`` events, newest first."""
        if options["limit"] < 1:
            raise CommandError(_("--limit must be at least 1."))
        qs = AuditEvent.objects.select_related("site").order_by("-id")
        if options.get("site"):
            qs = qs.filter(site__code=options["site"])
        verb = options.get("verb")
        if verb:
            qs = qs.filter(verb__startswith=verb[:-1]) if verb.endswith("*") else qs.filter(verb=verb)
        events = list(qs[: options["limit"]])
        if not events:
            self.stdout.write(_("No events."))
            return
        for e in events:
            when = timezone.localtime(e.created_at).strftime("%Y-%m-%d %H:%M:%S")
            site = e.site.code if e.site_id and e.site else "-"
            self.stdout.write(
                f"{chain_label(e.chain, e.seq):<9} {when}  {e.actor_name:<16} {site:<10} {e.verb:<24} "
                f"{e.object_type}:{e.object_id} {e.object_repr}"
            )
            if options.get("changes"):
                for label, value in ((_("before"), e.before), (_("after"), e.after)):
                    if value is not None:
                        self.stdout.write(
                            f"         {label}: {json.dumps(value, ensure_ascii=False, sort_keys=True)}"
                        )
