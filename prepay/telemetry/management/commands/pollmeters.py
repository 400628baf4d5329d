"""``prepay pollmeters``: the meter poller daemon (or one cycle with ``--once``)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from prepay.meters.drivers.limits import Limits
from prepay.telemetry.poller import Poller, PollSummary


def host_port(text: str) -> tuple[str, int]:
    host, _sep, port = text.rpartition(":")
    if not port.isdigit():
        raise CommandError(_("Expected HOST:PORT, got %(v)s") % {"v": text})
    return host or "0.0.0.0", int(port)  # noqa: S104 - DTUs dial in from the field


def summary_line(s: PollSummary) -> str:
    errors = ", ".join(f"{k} {v}" for k, v in sorted(s.errors.items()))
    line = _(
        "%(claimed)s meters in %(sec).2f s: %(ok)s read, %(failed)s failed%(errors)s; commands "
        "%(conf)s confirmed, %(retry)s to retry, %(fail)s failed; %(off)s went offline, %(on)s came online"
    ) % {
        "claimed": s.claimed,
        "sec": s.seconds,
        "ok": s.ok,
        "failed": s.failed,
        "errors": f" ({errors})" if errors else "",
        "conf": s.commands_confirmed,
        "retry": s.commands_retried,
        "fail": s.commands_failed,
        "off": s.went_offline,
        "on": s.came_online,
    }
    if s.commands_held:
        line += _("; %(n)s commands held (DTU claim disputed)") % {"n": s.commands_held}
    if s.wire_events:
        line += _("; %(n)s DTU security events recorded") % {"n": s.wire_events}
    return line


class Command(BaseCommand):
    help = _("Poll networked meters: readings, relay state, online/offline, queued commands")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help=_("Run one cycle and stop"))
        parser.add_argument("--idle", type=float, default=2.0, help=_("Seconds to wait when nothing is due"))
        parser.add_argument("--batch", type=int, default=1000, help=_("Meters claimed per cycle"))
        parser.add_argument("--concurrency", type=int, default=256, help=_("Meters talked to at once"))
        parser.add_argument("--timeout", type=float, default=2.0, help=_("Reply timeout in seconds"))
        parser.add_argument("--retries", type=int, default=1, help=_("Retries after a timeout"))
        parser.add_argument(
            "--offline-after", type=int, default=3, help=_("Failures before a meter is offline")
        )
        parser.add_argument("--listen", help=_("HOST:PORT where DTUs dial in (DL/T 645)"))
        parser.add_argument("--name", help=_("Poller name recorded on claimed meters"))

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            limits = Limits.from_env()  # PREPAY_DTU_*, PREPAY_WIRE_*, PREPAY_*_MAX_FRAME, PREPAY_MQTT_*
        except ValueError as exc:
            raise CommandError(_("Invalid wire limit: %(e)s") % {"e": exc}) from None
        options: dict[str, Any] = {
            "limits": limits,
            "batch": opts["batch"],
            "concurrency": opts["concurrency"],
            "timeout": opts["timeout"],
            "retries": opts["retries"],
            "offline_after": opts["offline_after"],
        }
        if opts["name"]:
            options["name"] = opts["name"]
        if opts["listen"]:
            options["listen"] = host_port(opts["listen"])
        with Poller(**options) as poller:
            if opts["listen"] and poller.pool is not None and poller.pool.dial_in is not None:
                self.stdout.write(_("Listening for DTUs on port %(p)s") % {"p": poller.pool.dial_in.port})
                self.stdout.write(_("Wire limits: %(l)s") % {"l": limits.describe()})
            try:
                while True:
                    s = poller.cycle()
                    if s.claimed or opts["once"]:
                        self.stdout.write(summary_line(s))
                    if opts["once"]:
                        return
                    if s.claimed < opts["batch"]:
                        time.sleep(opts["idle"])
            except KeyboardInterrupt:
                self.stdout.write(_("Stopped."))
