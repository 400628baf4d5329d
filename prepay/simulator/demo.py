"""A small simulated fleet, an in-process poller and billing for ``prepay demo``.

The demo's installed meters get virtual twins on loopback sockets, are bound to them (protocol,
comm_params, a MeterLink due now) and polled every few seconds by a poller thread, so readings,
relay states and online flags appear in the system within a minute of starting the demo.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.db import close_old_connections

from prepay.meters.choices import MeterStatus
from prepay.meters.models import Meter
from prepay.simulator.binding import bind_fleet
from prepay.simulator.clock import SimClock
from prepay.simulator.fleet import Fleet, FleetThread

log = logging.getLogger(__name__)


def start_demo_fleet(*, limit: int = 40, speed: float = 60.0, poll_interval: int = 30) -> Callable[[], None]:
    """Start the fleet and the poller; returns a function that stops both."""
    from prepay.telemetry.poller import Poller

    meters = list(
        Meter.objects.filter(status=MeterStatus.INSTALLED)
        .exclude(protocol="mqtt")  # the demo must not depend on a broker
        .select_related("model")
        .order_by("pk")[:limit]
    )
    clock = SimClock(speed=speed)
    fleet = Fleet(per_port=16)
    bind_fleet(meters, fleet, clock, poll_interval=poll_interval)
    fleet_thread = FleetThread(fleet).start()
    stop = threading.Event()

    def poll_loop() -> None:
        from prepay.billing import jobs

        with Poller(timeout=1.0, retries=1) as poller:
            while not stop.is_set():
                try:
                    poller.cycle()
                    # remote fee control: charge the new readings, warn, cut or restore (as runbilling)
                    jobs.tick("demo")
                except Exception:  # keep the demo alive; the error is logged
                    log.exception("demo poller cycle failed")
                finally:
                    close_old_connections()
                stop.wait(5)

    poll_thread = threading.Thread(target=poll_loop, name="demo-poller", daemon=True)
    poll_thread.start()

    def shutdown() -> None:
        stop.set()
        poll_thread.join(10)
        fleet_thread.stop()

    return shutdown
