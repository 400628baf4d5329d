"""The simulated fleet, an in-process poller and billing for ``prepay demo``.

Every installed meter of the demo gets a virtual twin on loopback sockets, speaking the meter's own
protocol (DL/T 645 for the single-phase meters, Modbus TCP for the three-phase ones, CJ/T 188 for
water; MQTT only when a meter names it and a broker answers), is bound to it (protocol,
comm_params, a MeterLink due now) and polled every few seconds by a poller thread, so readings,
relay states and online flags appear in the system within a minute of starting the demo.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable

from django.db import close_old_connections

from prepay.meters.choices import MeterStatus, Protocol
from prepay.meters.drivers.registry import mqtt_url
from prepay.meters.models import Meter
from prepay.simulator.binding import bind_fleet
from prepay.simulator.clock import Clock, SimClock
from prepay.simulator.fleet import Fleet, FleetThread
from prepay.simulator.meter import VirtualMeter

log = logging.getLogger(__name__)

#: meters per DL/T 645 / CJ/T 188 bus and per Modbus gateway
PER_PORT = 16


def _broker_up() -> bool:
    try:
        with socket.create_connection(mqtt_url(), timeout=0.5):
            return True
    except OSError:
        return False


def demo_meters() -> list[Meter]:
    """Every installed meter, in a stable order. MQTT meters only when the platform's broker
    (``PREPAY_MQTT_URL``, default 127.0.0.1:1883) answers: the demo must not depend on one."""
    qs = Meter.objects.filter(status=MeterStatus.INSTALLED).select_related("model").order_by("pk")
    if not _broker_up():
        qs = qs.exclude(protocol=Protocol.MQTT)
    return list(qs)


def build_demo_fleet(
    clock: Clock, *, poll_interval: int = 30
) -> tuple[Fleet, list[tuple[Meter, VirtualMeter]]]:
    """A fleet with a twin of every :func:`demo_meters` meter, bound in the database (not started)."""
    fleet = Fleet(per_port=PER_PORT)  # MQTT twins on the pollers' broker (PREPAY_MQTT_URL)
    pairs = bind_fleet(demo_meters(), fleet, clock, poll_interval=poll_interval)
    return fleet, pairs


def start_demo_fleet(
    *, speed: float = 60.0, poll_interval: int = 30, after_cycle: Callable[[], object] | None = None
) -> Callable[[], None]:
    """Start the fleet and the poller; returns a function that stops both. ``after_cycle`` runs after
    each polling cycle (the demo passes the billing tick: charge the new readings, warn, cut or
    restore, as ``runbilling`` does)."""
    from prepay.telemetry.poller import Poller

    fleet, _pairs = build_demo_fleet(SimClock(speed=speed), poll_interval=poll_interval)
    fleet_thread = FleetThread(fleet).start()
    stop = threading.Event()

    def poll_loop() -> None:
        with Poller(timeout=1.0, retries=1) as poller:
            while not stop.is_set():
                try:
                    poller.cycle()
                    if after_cycle is not None:
                        after_cycle()
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
