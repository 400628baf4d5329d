"""Readings that MQTT meters publish on their own, consumed once across many consumers (issue 18).

A 4G meter publishes its telemetry on ``data/up/{product_key}/{sn}`` every few minutes without being
asked. ``prepay ingestmqtt`` subscribes to those topics through an **MQTT 5 shared subscription**
(``$share/<group>/data/up/+/+``): the broker hands each message to one member of the group, so
consumers on several machines split the fleet's messages and each message is written once. A
consumer that dies loses nothing it had not acknowledged: the broker gives its share to the others.

- Replies to the pollers' own requests (``READDATA`` answered on the same topic) are left to the
  poller that asked: their ``msgid`` starts with :data:`~prepay.meters.drivers.mqtt.REQUEST_PREFIX`.
- A message is a reading of the meter whose ``comm_params`` hold its product key and serial
  (``protocol`` ``mqtt``); one from an unknown meter, a malformed one, or one without ``EPI`` is
  counted and dropped (the meter list is read again at most once a minute when an unknown one comes).
- ``read_at`` is the meter's own ``timestamp`` (seconds since 1970) when it lies within a day of the
  consumer's clock, else the time the message arrived: a message the broker delivers twice (QoS 1) is
  then the same reading, which the table's unique (meter, time) keeps once.
- Readings are written in batches (one multi-row INSERT per flush, ``source`` ``push``), and the
  meters' links marked online and seen. A payload over ``PREPAY_MQTT_MAX_PAYLOAD`` (the broker is
  told not to send one) and a value out of range (``VALUE_LIMIT``, a register below zero) are
  rejected on their own: the rest of the batch is written.

The network runs on an event loop in a background thread; the database is written from the calling
thread (:meth:`PushConsumer.run`).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiomqtt
from django.db import transaction
from django.utils import timezone
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from prepay.domain.protocols import mqtt as codec
from prepay.domain.protocols.errors import ProtocolError
from prepay.meters.choices import Protocol
from prepay.meters.drivers.base import DriverError, Target
from prepay.meters.drivers.limits import Limits
from prepay.meters.drivers.mqtt import PACKET_OVERHEAD, REQUEST_PREFIX, reading_of
from prepay.meters.drivers.registry import mqtt_url
from prepay.meters.models import Meter
from prepay.telemetry.models import MeterLink, MeterReading, ReadingSource
from prepay.telemetry.poller import reading_row

#: how far a meter's own timestamp may lie from the consumer's clock and still be the reading's time
TRUSTED_SKEW = timedelta(days=1)
#: wait at least this long between two reads of the meter list for an unknown meter
RELOAD_EVERY = 60.0


@dataclass
class PushSummary:
    received: int = 0
    readings: int = 0  # written (a message the broker delivered twice is kept once by the table)
    replies: int = 0  # answers to a poller's request, left to it
    unknown: int = 0  # from a meter that is not registered with that product key and serial
    rejected: int = 0  # malformed, or telemetry without a register


def read_at(stamp: Any, arrived: datetime) -> datetime:
    """The reading's time: the meter's ``timestamp`` when it is within :data:`TRUSTED_SKEW` of
    ``arrived``, else ``arrived``."""
    try:
        seconds = int(stamp)
    except (TypeError, ValueError):
        return arrived
    if seconds > 10**11:  # milliseconds
        seconds //= 1000
    try:
        at = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return arrived
    return at if abs(at - arrived) <= TRUSTED_SKEW else arrived


class PushConsumer:
    """Consume pushed telemetry with the other members of ``group`` (see the module docstring)."""

    def __init__(
        self,
        *,
        group: str = "prepay",
        broker: tuple[str, int] | None = None,
        flush_every: float = 1.0,
        max_batch: int = 2000,
        name: str = "",
        limits: Limits | None = None,
    ) -> None:
        self.group = group
        self.limits = limits or Limits.from_env()
        self.host, self.port = broker or mqtt_url()
        self.flush_every = flush_every
        self.max_batch = max_batch
        self.name = name or f"prepay-ingest-{threading.get_ident() % 100000}-{time.time_ns() % 10**6}"
        self.summary = PushSummary()
        self.ready = threading.Event()
        self._inbox: queue.Queue[tuple[str, bytes, datetime]] = queue.Queue(maxsize=100_000)
        self._stop = threading.Event()
        self._meters: dict[tuple[str, str], Target] = {}
        self._loaded_at: float | None = None  # monotonic time of the last read of the meter list
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ network (background thread)

    async def _listen(self) -> None:
        props = Properties(PacketTypes.CONNECT)  # the broker sends nothing larger (as the pollers')
        props.MaximumPacketSize = self.limits.mqtt_max_payload + PACKET_OVERHEAD
        async with aiomqtt.Client(
            self.host,
            self.port,
            identifier=self.name,
            protocol=aiomqtt.ProtocolVersion.V5,
            properties=props,
        ) as client:
            await client.subscribe(f"$share/{self.group}/data/up/+/+", qos=1)
            self.ready.set()
            async for message in client.messages:
                payload = message.payload if isinstance(message.payload, bytes) else b""
                if len(payload) > self.limits.mqtt_max_payload:  # a broker that ignored the limit
                    self.summary.rejected += 1
                    continue
                try:
                    self._inbox.put_nowait((message.topic.value, payload, timezone.now()))
                except queue.Full:
                    self.summary.rejected += 1

    def _network(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._task = loop.create_task(self._listen())
        try:
            loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass  # stopped: the client left the broker on its way out
        except BaseException as exc:  # noqa: BLE001 - reported by run() in the calling thread
            self._error = exc
        finally:
            self.ready.set()
            loop.close()

    def _disconnect(self) -> None:
        if self._loop is not None and self._task is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                self._loop.call_soon_threadsafe(self._task.cancel)

    # ------------------------------------------------------------------ database (calling thread)

    def start(self) -> None:
        """Connect and subscribe (in the background thread); raises when the broker cannot be had."""
        self._thread = threading.Thread(target=self._network, name="mqtt-ingest", daemon=True)
        self._thread.start()
        self.ready.wait(10)
        self._raise_if_broken()

    def close(self) -> None:
        """Leave the group (the broker gives this consumer's share to the others) and stop."""
        self._stop.set()
        self._disconnect()
        if self._thread is not None:
            self._thread.join(10)

    def _raise_if_broken(self) -> None:
        if self._error is not None:
            raise DriverError("connect", f"MQTT broker {self.host}:{self.port}: {self._error}")
        if not self.ready.is_set():
            raise DriverError("connect", f"MQTT broker {self.host}:{self.port}: no answer within 10 s")

    def run(
        self, *, until: Callable[[], bool] | None = None, report: Callable[[PushSummary], None] | None = None
    ) -> PushSummary:
        """Consume until ``until()`` is true (checked at every flush) or :meth:`close`; a broken
        broker connection ends the run with its error (systemd restarts the service)."""
        self.start()
        try:
            while not self._stop.is_set() and not (until is not None and until()):
                self._raise_if_broken()
                self.flush(self.take())
                if report is not None:
                    report(self.summary)
            self.flush(self.take(wait=False))
        finally:
            self.close()
        return self.summary

    def take(self, wait: bool = True) -> list[tuple[str, bytes, datetime]]:
        out: list[tuple[str, bytes, datetime]] = []
        deadline = time.monotonic() + (self.flush_every if wait else 0)
        while len(out) < self.max_batch:
            left = deadline - time.monotonic()
            try:
                out.append(self._inbox.get(timeout=left) if left > 0 else self._inbox.get_nowait())
            except queue.Empty:
                break
        return out

    def flush(self, messages: list[tuple[str, bytes, datetime]]) -> int:
        """Write ``messages`` (topic, payload, arrival) as readings; returns how many readings."""
        rows: list[MeterReading] = []
        seen: dict[int, datetime] = {}
        for topic, payload, arrived in messages:
            self.summary.received += 1
            row = self._row(topic, payload, arrived)
            if row is not None:
                rows.append(row)
                seen[row.meter_id] = max(seen.get(row.meter_id, arrived), arrived)
        if not rows:
            return 0
        with transaction.atomic():
            MeterReading.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
            MeterLink.objects.filter(meter_id__in=seen).update(
                online=True, fail_count=0, last_seen_at=max(seen.values()), last_error=""
            )
        self.summary.readings += len(rows)
        return len(rows)

    def _row(self, topic: str, payload: bytes, arrived: datetime) -> MeterReading | None:
        try:
            up = codec.parse_uplink(topic, payload)
        except ProtocolError:
            self.summary.rejected += 1
            return None
        if not isinstance(up, codec.Telemetry):
            self.summary.rejected += 1
            return None
        if isinstance(up.msgid, str) and up.msgid.startswith(REQUEST_PREFIX):
            self.summary.replies += 1
            return None
        target = self._meter(up.product_key, up.sn)
        if target is None:
            self.summary.unknown += 1
            return None
        try:
            reading = reading_of(up)
        except DriverError:
            self.summary.rejected += 1
            return None
        return reading_row(target, reading, read_at(up.timestamp, arrived), ReadingSource.PUSH)

    def _meter(self, product_key: str, sn: str) -> Target | None:
        key = (product_key, sn)
        stale = self._loaded_at is None or time.monotonic() - self._loaded_at >= RELOAD_EVERY
        if key not in self._meters and stale:
            self._load()
        return self._meters.get(key)

    def _load(self) -> None:
        self._loaded_at = time.monotonic()
        meters: dict[tuple[str, str], Target] = {}
        for pk, serial, params, ct, pt in Meter.objects.filter(protocol=Protocol.MQTT).values_list(
            "pk", "serial", "comm_params", "ct_ratio", "pt_ratio"
        ):
            params = params or {}
            key = (str(params.get("product_key", "")), str(params.get("sn", "")))
            meters[key] = Target(pk, serial, Protocol.MQTT, params, ct_ratio=ct, pt_ratio=pt)
        self._meters = meters


__all__ = ["PushConsumer", "PushSummary", "read_at"]
