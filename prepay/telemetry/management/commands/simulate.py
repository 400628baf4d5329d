"""``prepay simulate``: a fleet of virtual meters on real sockets, bound to the database's meters."""

from __future__ import annotations

import time
from collections import Counter
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from prepay.meters.choices import MeterStatus
from prepay.meters.models import Meter
from prepay.simulator.binding import bind_fleet
from prepay.simulator.clock import SimClock
from prepay.simulator.fleet import Fleet, FleetThread
from prepay.simulator.meter import VirtualMeter
from prepay.telemetry.management.commands.pollmeters import host_port

GENERATED_KINDS = {
    "single": ("single_phase", "residential"),
    "three": ("three_phase", "commercial"),
    "water": ("water", "water"),
}


def live_table(fleet: Fleet, clock: SimClock) -> Any:
    from rich.table import Table

    table = Table(title=_("Simulated meters — %(t)s") % {"t": f"{clock.now():%Y-%m-%d %H:%M}"})
    for col in (_("protocol"), _("meters"), _("requests"), _("relay open"), _("low credit"), _("energy")):
        table.add_column(col, justify="right")
    rows: dict[str, list[VirtualMeter]] = {}
    for m in fleet.meters:
        rows.setdefault(fleet.protocols[m.serial], []).append(m)
    for proto, ms in sorted(rows.items()):
        table.add_row(
            proto,
            str(len(ms)),
            str(sum(m.requests for m in ms)),
            str(sum(m.relay_open for m in ms)),
            str(sum(m.low_credit for m in ms)),
            f"{sum(m.energy for m in ms):.1f}",
        )
    return table


class Command(BaseCommand):
    help = _("Run virtual meters that speak Modbus TCP, DL/T 645, CJ/T 188 and MQTT on real sockets")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--site", help=_("Only meters of this site (code)"))
        parser.add_argument(
            "--limit", type=int, default=0, help=_("At most this many meters from the database")
        )
        parser.add_argument(
            "--generate",
            type=int,
            default=0,
            help=_("Serve N generated meters instead of the database's (nothing is written)"),
        )
        parser.add_argument("--kinds", default="single,three,water", help=_("Kinds of generated meters"))
        parser.add_argument("--protocol", help=_("Serve every meter over this protocol"))
        parser.add_argument("--speed", type=float, default=60.0, help=_("Simulated seconds per real second"))
        parser.add_argument(
            "--poll-interval", type=int, default=60, help=_("Poll interval set on bound meters")
        )
        parser.add_argument("--per-port", type=int, default=32, help=_("Meters per bus / Modbus gateway"))
        parser.add_argument("--base-port", type=int, default=0, help=_("First TCP port (0: any free ports)"))
        parser.add_argument(
            "--dial-in", help=_("HOST:PORT of the poller's DTU listener (DL/T 645 meters dial in)")
        )
        parser.add_argument("--duration", type=float, default=0, help=_("Stop after this many seconds"))
        parser.add_argument("--quiet", action="store_true", help=_("No live summary"))

    def handle(self, *args: Any, **opts: Any) -> None:
        clock = SimClock(speed=opts["speed"])
        fleet = Fleet(
            per_port=opts["per_port"],
            base_port=opts["base_port"],
            dial_in_to=host_port(opts["dial_in"]) if opts["dial_in"] else None,
        )
        if opts["generate"]:
            kinds = [k.strip() for k in opts["kinds"].split(",") if k.strip()]
            if not kinds or any(k not in GENERATED_KINDS for k in kinds):
                raise CommandError(_("Kinds are single, three and water."))
            for i in range(opts["generate"]):
                kind, profile = GENERATED_KINDS[kinds[i % len(kinds)]]
                vm = VirtualMeter(
                    serial=f"SIM{i + 1:08d}",
                    clock=clock,
                    kind=kind,
                    profile=profile,
                    seed=i,
                    credit=Decimal(50 + i % 50),
                    alarm_level=Decimal("2") if kind == "water" else Decimal("12"),
                )
                proto = opts["protocol"] or {"single_phase": "dlt645", "three_phase": "modbus_tcp"}.get(
                    kind, "cjt188"
                )
                params = fleet.add(vm, proto, dial_in=bool(opts["dial_in"]) and proto == "dlt645")
                if opts["quiet"]:
                    self.stdout.write(f"{vm.serial} {proto} {params}")
        else:
            qs = Meter.objects.filter(status=MeterStatus.INSTALLED).select_related("model").order_by("pk")
            if opts["site"]:
                qs = qs.filter(site__code=opts["site"])
            if opts["limit"]:
                qs = qs[: opts["limit"]]
            meters = list(qs)
            if not meters:
                raise CommandError(
                    _("No installed meters to simulate (load the demo data, or use --generate).")
                )
            bind_fleet(
                meters,
                fleet,
                clock,
                poll_interval=opts["poll_interval"],
                protocol=opts["protocol"],
                dial_in=bool(opts["dial_in"]),
            )
        counts = Counter(fleet.protocols.values())
        try:
            thread = FleetThread(fleet).start()
        except ConnectionError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            _("%(n)s virtual meters running (%(by)s); simulated time runs %(speed)s× real time.")
            % {
                "n": len(fleet.meters),
                "by": ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
                "speed": opts["speed"],
            }
        )
        deadline = time.monotonic() + opts["duration"] if opts["duration"] else None
        try:
            if opts["quiet"]:
                while deadline is None or time.monotonic() < deadline:
                    time.sleep(0.5)
            else:
                from rich.live import Live

                with Live(live_table(fleet, clock), refresh_per_second=1) as live:
                    while deadline is None or time.monotonic() < deadline:
                        time.sleep(1)
                        live.update(live_table(fleet, clock))
        except KeyboardInterrupt:
            pass
        finally:
            thread.stop()
