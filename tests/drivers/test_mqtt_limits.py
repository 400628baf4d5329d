"""The poller's MQTT consumer against the real Mosquitto (PREPAY_MQTT_URL, default 127.0.0.1:1883):
payloads and queue bounded.

Skipped with a reason when no broker runs locally; a failure when PREPAY_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from decimal import Decimal

import aiomqtt
import pytest

from prepay.meters.drivers.base import Target
from prepay.meters.drivers.limits import Limits
from prepay.meters.drivers.mqtt import PACKET_OVERHEAD, MqttDriver, MqttHub, _bounded_queue
from prepay.meters.drivers.registry import mqtt_url
from prepay.simulator.clock import ManualClock
from prepay.simulator.meter import VirtualMeter
from prepay.simulator.servers.mqtt import MqttFrontEnd
from tests.telemetry.conftest import need_broker

LIMIT = 1024


class MqttHubLimitsTestCase:
    def test_it_drops_oversize_payloads_and_keeps_reading_meters(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        need_broker()
        caplog.set_level(logging.WARNING, logger="prepay.wire")
        pk, sn = f"limits-{uuid.uuid4().hex[:8]}", "SN-LIMITS-1"
        topic = f"data/up/{pk}/{sn}"

        async def scenario() -> None:
            vm = VirtualMeter(serial=sn, clock=ManualClock(), credit=Decimal("30"))
            front = MqttFrontEnd({sn: vm}, product_key=pk)
            serving = asyncio.create_task(front.run())
            await asyncio.wait_for(front.ready.wait(), 10)
            hub = MqttHub(*mqtt_url(), timeout=3, retries=0, limits=Limits(mqtt_max_payload=LIMIT))
            driver = MqttDriver(Target(1, sn, "mqtt", {"product_key": pk, "sn": sn}), hub)
            try:
                await driver.read()  # connected and subscribed
                async with aiomqtt.Client(*mqtt_url(), identifier=f"attacker-{pk}") as attacker:
                    # over the announced Maximum Packet Size: the broker never sends it to the hub
                    await attacker.publish(topic, b"y" * (LIMIT + PACKET_OVERHEAD + 100_000), qos=1)
                    # within the packet size, over the payload limit: the hub drops it unparsed
                    await attacker.publish(topic, b"x" * (LIMIT + 500), qos=1)
                reading = await driver.read()  # its answer comes after both (the broker keeps order)
                assert reading.register == vm.register()
                assert hub.oversize >= 1
            finally:
                await hub.close()
                await front.stop()
                await asyncio.wait_for(serving, 10)

        asyncio.run(scenario())
        for record in caplog.records:
            assert record.exc_info is None
        assert (
            f"dropped a message of {LIMIT + 500} bytes on {topic} (limit mqtt_max_payload={LIMIT})"
            in caplog.text
        )
        assert f"{LIMIT + PACKET_OVERHEAD + 100_000} bytes" not in caplog.text

    def test_it_bounds_the_queue_between_the_broker_and_the_dispatcher(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.WARNING, logger="prepay.wire")

        async def scenario() -> None:
            hub = MqttHub(*mqtt_url(), timeout=1, retries=0, limits=Limits(mqtt_max_queue=3))
            queue = _bounded_queue(hub)(maxsize=hub.limits.mqtt_max_queue)
            for i in range(10):
                queue.put_nowait(aiomqtt.Message(f"data/up/pk/sn{i}", b"{}", 0, False, i, None))
            assert queue.qsize() == 3 and hub.queue_dropped == 7
            assert [queue.get_nowait().topic.value for _ in range(3)] == [
                f"data/up/pk/sn{i}" for i in range(3)
            ]

        asyncio.run(scenario())
        assert "dropped a message on data/up/pk/sn3: 3 messages wait (limit mqtt_max_queue)" in caplog.text


class MqttHubIdentityTestCase:
    def test_two_pollers_started_together_keep_their_own_connections(self) -> None:
        """Two hubs made in the same second (two pollers started together) each keep the broker
        connection they made: the broker drops an older connection of the same client id, which
        made the two knock each other off in turn."""
        need_broker()
        pk, sn = f"ids-{uuid.uuid4().hex[:8]}", "SN-IDS-1"

        async def scenario() -> None:
            vm = VirtualMeter(serial=sn, clock=ManualClock(), credit=Decimal("30"))
            front = MqttFrontEnd({sn: vm}, product_key=pk)
            serving = asyncio.create_task(front.run())
            await asyncio.wait_for(front.ready.wait(), 10)
            hubs = [MqttHub(*mqtt_url(), timeout=3, retries=0) for _ in range(2)]
            target = Target(1, sn, "mqtt", {"product_key": pk, "sn": sn})
            try:
                assert hubs[0].client_id != hubs[1].client_id
                first = []
                for hub in hubs:
                    await MqttDriver(target, hub).read()
                    first.append(hub._client)
                for _ in range(3):
                    for hub in hubs:
                        assert (await MqttDriver(target, hub).read()).register == vm.register()
                assert [hub._client for hub in hubs] == first  # nobody had to connect again
            finally:
                for hub in hubs:
                    await hub.close()
                await front.stop()
                await asyncio.wait_for(serving, 10)

        asyncio.run(scenario())
