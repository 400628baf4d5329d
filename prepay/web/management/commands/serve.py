"""``prepay serve``: the production web server — gunicorn running ``prepay.wsgi``.

Contract:

* binds ``--host`` (127.0.0.1) and ``--port`` (the ``PORT`` environment variable, else 8000): a reverse
  proxy with the TLS certificate sits in front (README, "Running for real / deployment");
* ``--workers`` defaults to 2 × the CPU cores this process may use + 1 (gunicorn's sizing rule);
  ``--timeout`` is gunicorn's worker timeout; ``--access-log FILE`` (``-``: standard output);
* static files (``/static/``) are the proxy's job: ``prepay collectstatic`` copies them to
  ``STATIC_ROOT`` (``<PREPAY_VAR_DIR>/static``). ``--static`` makes the workers serve them through
  Django's static files view instead, for one PC without a proxy;
* database connections the command's own start-up opened (system checks) are closed before the
  workers fork, so no worker shares a connection; SIGINT or SIGTERM stops the server gracefully.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from gunicorn.app.base import BaseApplication

from prepay.cli import default_port


def default_workers() -> int:
    """2 × the CPU cores available to this process + 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return 2 * cores + 1


class Command(BaseCommand):
    help = _("Serve the web application with gunicorn (production; behind a reverse proxy)")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help=_("Address to bind (default 127.0.0.1)"))
        parser.add_argument(
            "--port", type=int, default=None, help=_("Port to bind (default: $PORT, else 8000)")
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=default_workers(),
            help=_("Worker processes (default: 2 × CPU cores + 1 = %(n)s)") % {"n": default_workers()},
        )
        parser.add_argument(
            "--timeout", type=int, default=60, help=_("Seconds before a busy worker is restarted")
        )
        parser.add_argument(
            "--static",
            action="store_true",
            help=_("Serve /static/ from the workers (no proxy in front); else the proxy serves STATIC_ROOT"),
        )
        parser.add_argument("--access-log", default=None, help=_("Access log file (- for standard output)"))

    def handle(self, *args: Any, **opts: Any) -> None:
        from django.core.wsgi import get_wsgi_application
        from django.db import connections

        if opts["workers"] < 1:
            raise CommandError(_("--workers must be at least 1."))
        port = opts["port"] if opts["port"] is not None else default_port()
        application: Any = get_wsgi_application()
        if opts["static"]:
            from django.contrib.staticfiles.handlers import StaticFilesHandler

            application = StaticFilesHandler(application)
        connections.close_all()  # the workers fork from this process: each opens its own
        options = {
            "bind": f"{opts['host']}:{port}",
            "workers": opts["workers"],
            "timeout": opts["timeout"],
            "accesslog": opts["access_log"],
            "proc_name": "prepay",
            # gunicorn 27's control socket lives in ~/.gunicorn/: two servers of one user would share it
            "control_socket_disable": True,
        }
        _Gunicorn(application, options).run()


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """gunicorn configured from our options only (no command line, no config file)."""

    def __init__(self, application: Any, options: dict[str, Any]) -> None:
        self.application = application
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        return self.application
