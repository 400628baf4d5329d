"""``prepay demo``: migrate the embedded database, load the demo data once, print logins, serve.

The data folder is ``PREPAY_VAR_DIR`` (default ``./var``: database, key files, demo passwords); the
port is ``--port``, else the ``PORT`` environment variable, else 8000 (``make demo PORT=8080``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from prepay.cli import default_port
from prepay.demo.data import load_demo


class Command(BaseCommand):
    help = _(
        "Set up the embedded database with demo data and serve on http://127.0.0.1:8000. The data "
        "folder is PREPAY_VAR_DIR (default ./var); the port is --port, else PORT, else 8000."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help=_("Address to bind (default 127.0.0.1)"))
        parser.add_argument(
            "--port", type=int, default=None, help=_("Port to bind (default: $PORT, else 8000)")
        )
        parser.add_argument("--no-serve", action="store_true", help=_("Load the data and stop"))
        parser.add_argument(
            "--no-simulate", action="store_true", help=_("Do not start the simulated meters and the poller")
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        created, users = load_demo(settings.VAR_DIR)
        self.stdout.write(
            _("Demo data loaded.") if created else _("Demo data already present; kept as it is.")
        )
        self.stdout.write("")
        self.stdout.write(_("Demo users (also in %(file)s):") % {"file": settings.VAR_DIR / "demo-users.txt"})
        for username, password, desc in users:
            self.stdout.write(f"  {username:<12} {password:<18} {desc}")
        self.stdout.write("")
        if opts["no_serve"]:
            return
        stop_fleet = None
        if not opts["no_simulate"]:
            from prepay.billing import jobs
            from prepay.simulator.demo import start_demo_fleet

            # remote fee control after each polling cycle: charge, warn, cut or restore (as runbilling)
            stop_fleet = start_demo_fleet(after_cycle=lambda: jobs.tick("demo"))
            self.stdout.write(
                _("Simulated meters are running and being polled; readings appear within a minute.")
            )
        port = opts["port"] if opts["port"] is not None else default_port()
        url = f"http://{opts['host']}:{port}/"
        self.stdout.write(_("Serving on %(url)s — press Ctrl+C to stop.") % {"url": url})
        try:
            call_command("runserver", f"{opts['host']}:{port}", insecure_serving=True, use_reloader=False)
        finally:
            if stop_fleet is not None:
                stop_fleet()
