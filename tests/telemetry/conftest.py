"""Fleets of virtual meters on loopback sockets, bound to meters of the ``world`` fixture."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from prepay.meters.drivers.registry import mqtt_url
from prepay.meters.models import Meter
from prepay.simulator.binding import bind_fleet
from prepay.simulator.clock import ManualClock
from prepay.simulator.fleet import Fleet, FleetThread
from prepay.simulator.meter import VirtualMeter
from tests import factories as f
from tests.conftest import require_services


@dataclass
class Sim:
    fleet: Fleet
    thread: FleetThread
    clock: ManualClock
    pairs: list[tuple[Meter, VirtualMeter]]

    def vm(self, meter: Meter) -> VirtualMeter:
        return self.fleet.meter(meter.serial)

    def advance(self, **kw: Any) -> None:
        self.clock.advance(timedelta(**kw))


def broker_up() -> bool:
    """True when the platform's broker (``PREPAY_MQTT_URL``, default 127.0.0.1:1883) answers."""
    try:
        with socket.create_connection(mqtt_url(), timeout=0.5):
            return True
    except OSError:
        return False


def need_broker() -> None:
    if broker_up():
        return
    where = "{}:{}".format(*mqtt_url())
    if require_services():
        pytest.fail(f"PREPAY_REQUIRE_SERVICES=1 but no MQTT broker on {where} (PREPAY_MQTT_URL)")
    pytest.skip(f"no MQTT broker on {where} (start mosquitto, or CI sets PREPAY_REQUIRE_SERVICES=1)")


@pytest.fixture
def make_sim(world: Any) -> Iterator[Any]:
    """``make_sim([(meter, protocol), …], credit=…, dial_in_to=…)`` → a started :class:`Sim`."""
    started: list[FleetThread] = []

    def make(
        spec: list[tuple[Meter, str]],
        *,
        credit: Decimal | None = Decimal("100"),
        dial_in_to: tuple[str, int] | None = None,
        per_port: int = 8,
    ) -> Sim:
        clock = ManualClock()
        fleet = Fleet(per_port=per_port, dial_in_to=dial_in_to)
        pairs = []
        for meter, proto in spec:
            pairs += bind_fleet(
                [meter], fleet, clock, protocol=proto, credit=credit, dial_in=dial_in_to is not None
            )
        thread = FleetThread(fleet).start()
        started.append(thread)
        for m, _vm in pairs:
            m.refresh_from_db()
        return Sim(fleet, thread, clock, pairs)

    yield make
    for t in started:
        t.stop()


def new_meter(world: Any, kind: str = "single", **kw: Any) -> Meter:
    w = world.a1
    model = {"single": w.single, "three": w.three, "water": w.water}[kind]
    return f.meter(w, model, **kw)
