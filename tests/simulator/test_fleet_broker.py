"""Simulated MQTT meters meet the platform on the platform's broker (``PREPAY_MQTT_URL``).

The pollers and the push consumer have always read the broker from ``PREPAY_MQTT_URL``; the simulator
used 127.0.0.1:1883 whatever it said, so ``prepay simulate`` and ``make demo`` with another broker
left the twins on one broker and the pollers on another.
"""

from __future__ import annotations

import asyncio

import pytest

from prepay.simulator.clock import ManualClock
from prepay.simulator.fleet import Fleet
from prepay.simulator.meter import VirtualMeter
from prepay.simulator.servers.mqtt import MqttFrontEnd
from tests.ports import free_port


async def _start_and_stop(fleet: Fleet) -> None:
    try:
        await fleet.start()
    finally:
        await fleet.stop()


class FleetBrokerTestCase:
    def test_the_twins_connect_to_the_broker_the_environment_names(self, monkeypatch):
        port = free_port()  # nothing listens there
        monkeypatch.setenv("PREPAY_MQTT_URL", f"mqtt://127.0.0.1:{port}")
        fleet = Fleet(per_port=1)
        fleet.add(VirtualMeter(serial="M1", clock=ManualClock()), "mqtt")
        # nothing listens there: the fleet says so, naming that broker (not 1883)
        with pytest.raises(ConnectionError, match=rf"127\.0\.0\.1', {port}\)"):
            asyncio.run(_start_and_stop(fleet))

    def test_the_default_is_the_local_broker_and_an_explicit_one_wins(self, monkeypatch):
        monkeypatch.delenv("PREPAY_MQTT_URL", raising=False)
        assert Fleet().mqtt_address == ("127.0.0.1", 1883)
        front = MqttFrontEnd({})
        assert (front.host, front.port) == ("127.0.0.1", 1883)
        monkeypatch.setenv("PREPAY_MQTT_URL", "mqtt://broker.example:2883")
        assert Fleet().mqtt_address == ("broker.example", 2883)
        assert Fleet(mqtt=("10.0.0.9", 1884)).mqtt_address == ("10.0.0.9", 1884)
        front = MqttFrontEnd({}, host="10.0.0.9", port=1884)
        assert (front.host, front.port) == ("10.0.0.9", 1884)
        front = MqttFrontEnd({})
        assert (front.host, front.port) == ("broker.example", 2883)
