"""``prepay ingestmqtt``: write the readings MQTT meters publish on their own (prepay.telemetry.pushes)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from prepay.meters.drivers.base import DriverError
from prepay.telemetry.pushes import PushConsumer, PushSummary


def summary_text(s: PushSummary) -> str:
    return _(
        "%(received)s messages: %(readings)s readings written, %(replies)s poll replies left to the "
        "pollers, %(unknown)s from unknown meters, %(rejected)s rejected"
    ) % {
        "received": s.received,
        "readings": s.readings,
        "replies": s.replies,
        "unknown": s.unknown,
        "rejected": s.rejected,
    }


class Command(BaseCommand):
    help = _(
        "Write the readings MQTT meters publish on their own, sharing them with the other consumers of "
        "the group (MQTT 5 shared subscription: each message is written once)"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--group",
            default="prepay",
            help=_("Shared subscription group: consumers of one group split the messages"),
        )
        parser.add_argument("--flush", type=float, default=1.0, help=_("Seconds between two writes"))
        parser.add_argument(
            "--seconds", type=float, default=0, help=_("Stop after this many seconds (0: run until stopped)")
        )
        parser.add_argument("--name", default="", help=_("MQTT client id of this consumer"))

    def handle(self, *args: Any, **opts: Any) -> None:
        group = str(opts["group"])
        if not group or any(ch in group for ch in "/+#"):
            raise CommandError(_("The group is a name without /, + or #."))
        if opts["flush"] <= 0 or opts["seconds"] < 0:
            raise CommandError(_("--flush must be above 0 and --seconds at least 0."))
        consumer = PushConsumer(group=group, flush_every=opts["flush"], name=opts["name"])
        end = time.monotonic() + opts["seconds"] if opts["seconds"] else None
        last = [time.monotonic()]

        def report(s: PushSummary) -> None:
            if time.monotonic() - last[0] >= 60:  # one line a minute
                last[0] = time.monotonic()
                self.stdout.write(summary_text(s))

        self.stdout.write(
            _("Consuming pushed readings from %(host)s:%(port)s as group %(group)s")
            % {"host": consumer.host, "port": consumer.port, "group": group}
        )
        try:
            summary = consumer.run(until=(lambda: time.monotonic() >= end) if end else None, report=report)
        except DriverError as exc:
            raise CommandError(exc.message) from None
        except KeyboardInterrupt:  # run() has closed the consumer on its way out
            summary = consumer.summary
        self.stdout.write(summary_text(summary))
