"""Readings MQTT meters publish on their own, through the real broker with an MQTT 5 shared
subscription: consumers of one group split the messages and each is written once (issue 18)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import aiomqtt
import pytest
from django.core.management import CommandError, call_command

from prepay.domain.protocols import mqtt as codec
from prepay.meters.drivers.registry import mqtt_url
from prepay.telemetry.bookkeeping import ensure_link
from prepay.telemetry.models import MeterLink, MeterReading
from prepay.telemetry.poller import poll_once
from prepay.telemetry.pushes import PushConsumer, read_at
from tests.telemetry.conftest import need_broker, new_meter

PK = "prepay-push"
NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)


def _meters(world, n: int, ct: int = 1) -> list:
    """``n`` MQTT meters of product ``PK`` (serials P0, P1 …) with their links, as binding leaves them."""
    meters = [
        new_meter(
            world, "single", protocol="mqtt", comm_params={"product_key": PK, "sn": f"P{i}"}, ct_ratio=ct
        )
        for i in range(n)
    ]
    for m in meters:
        ensure_link(m)
    return meters


def _telemetry(sn: str, register: str, stamp: int, msgid: str = "", **values) -> tuple[str, bytes]:
    return codec.build_telemetry(
        PK,
        sn,
        msgid=msgid or f"m-{uuid.uuid4().hex[:8]}",
        timestamp=stamp,
        values={"EPI": register, **values},
    )


def _publish(messages: list[tuple[str, bytes]]) -> None:
    async def go() -> None:
        async with aiomqtt.Client(*mqtt_url(), identifier=f"meter-{uuid.uuid4().hex[:8]}") as client:
            for topic, raw in messages:
                await client.publish(topic, raw, qos=1)

    asyncio.run(go())


def _drain(consumers: list[PushConsumer], expected: int) -> list[int]:
    """Flush every consumer until ``expected`` messages arrived in all (or 10 s); messages each."""
    got = [0] * len(consumers)
    deadline = time.monotonic() + 10
    while sum(got) < expected and time.monotonic() < deadline:
        for i, c in enumerate(consumers):
            batch = c.take(wait=False)
            got[i] += len(batch)
            c.flush(batch)
        time.sleep(0.05)
    return got


@pytest.fixture
def group():
    need_broker()
    return f"t{uuid.uuid4().hex[:10]}"


def _consumer(group: str) -> PushConsumer:
    c = PushConsumer(group=group, flush_every=0.1)
    c.start()
    return c


class PushedReadingsTestCase:
    def test_two_consumers_of_a_group_split_the_messages_and_write_each_once(self, world, group):
        meters = _meters(world, 3, ct=10)
        stamp = int(time.time()) - 3000
        messages = [
            _telemetry(m.comm_params["sn"], f"{100 + k}.5", stamp + 60 * k) for k in range(20) for m in meters
        ]
        consumers = [_consumer(group), _consumer(group)]
        try:
            _publish(messages)
            got = _drain(consumers, len(messages))
        finally:
            for c in consumers:
                c.close()
        assert sum(got) == 60 and all(n > 0 for n in got), got  # shared, not copied
        rows = MeterReading.objects.filter(meter__in=meters)
        assert rows.count() == 60 and set(rows.values_list("source", flat=True)) == {"push"}
        first = rows.get(meter=meters[0], read_at=datetime.fromtimestamp(stamp, tz=UTC))
        assert (first.register, first.energy) == (Decimal("100.500"), Decimal("1005.000"))  # × CT
        link = MeterLink.objects.get(meter=meters[0])
        assert link.online and link.last_seen_at is not None

    def test_a_message_delivered_twice_is_one_reading(self, world, group):
        (meter,) = _meters(world, 1)
        message = _telemetry("P0", "7.25", int(time.time()))
        c = _consumer(group)
        try:
            _publish([message, message])
            _drain([c], 2)
        finally:
            c.close()
        assert MeterReading.objects.filter(meter=meter).count() == 1

    def test_poll_replies_unknown_meters_and_bad_messages_are_not_written_the_rest_is(self, world, group):
        _meters(world, 1)
        stamp = int(time.time())
        bad = [
            _telemetry("P0", "1.0", stamp, msgid="prepay-42"),  # answers a poller's READDATA
            _telemetry("NOBODY", "1.0", stamp),
            ("data/up/prepay-push/P0", b"{not json"),
            ("data/up/prepay-push/P0", json.dumps({"msgid": "x", "payload": {"Ua": 220}}).encode()),
            _telemetry("P0", "1e30", stamp),  # would overflow the table
            _telemetry("P0", "-5", stamp + 1),
            _telemetry("P0", "2.5", stamp + 2),  # the one good reading of the batch
        ]
        c = _consumer(group)
        try:
            _publish(bad)
            _drain([c], 7)
        finally:
            c.close()
        s = c.summary
        assert (s.received, s.readings, s.replies, s.unknown, s.rejected) == (7, 1, 1, 1, 4)
        assert list(MeterReading.objects.values_list("register", flat=True)) == [Decimal("2.500")]

    def test_a_poll_of_an_mqtt_meter_is_written_by_the_poller_alone(self, world, make_sim, group):
        meter = new_meter(world, "single")
        make_sim([(meter, "mqtt")])
        c = _consumer(group)
        try:
            summary = poll_once([meter], timeout=3)
            _drain([c], 1)
        finally:
            c.close()
        assert summary.ok == 1
        assert list(MeterReading.objects.filter(meter=meter).values_list("source", flat=True)) == ["poll"]
        assert c.summary.replies == 1 and c.summary.readings == 0

    def test_the_command_runs_for_the_seconds_asked_and_refuses_a_bad_group(self, world, group, capsys):
        call_command("ingestmqtt", "--group", group, "--seconds", "0.5", "--flush", "0.1")
        out = capsys.readouterr().out
        assert f"as group {group}" in out and "0 messages" in out
        with pytest.raises(CommandError, match="without /"):
            call_command("ingestmqtt", "--group", "a/b", "--seconds", "0.1")


class ReadAtTestCase:
    @pytest.mark.parametrize(
        ("stamp", "expected"),
        [
            (int(NOW.timestamp()) - 900, NOW - timedelta(minutes=15)),
            (str(int(NOW.timestamp()) - 60), NOW - timedelta(minutes=1)),
            (int(NOW.timestamp()) * 1000, NOW),  # milliseconds
            (int(NOW.timestamp()) - 3 * 86400, NOW),  # a meter clock days off: the arrival time
            ("soon", NOW),
            (None, NOW),
            (10**30, NOW),
        ],
    )
    def test_the_meters_time_when_it_can_be_trusted_else_the_arrival(self, stamp, expected):
        assert read_at(stamp, NOW) == expected
