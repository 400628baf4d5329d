"""MQTT driver for 4G meters (Acrel 中台 envelope, aiomqtt 2.x), through one broker connection.

``comm_params``: ``product_key``, ``sn``. The broker comes from the driver pool (``PREPAY_MQTT_URL``,
default ``mqtt://127.0.0.1:1883``).

Conventions (Acrel's own ``control`` payloads are not public; these are ours and the simulator's):

* every request is an ``indicate/server/{pk}/{sn}`` command with a fresh ``msgid``; the meter
  acknowledges on ``indicate/dev/{pk}/{sn}`` with the same ``msgid`` (``res`` 0 → refused);
* read: ``{"method": "READDATA"}``; the meter publishes telemetry on ``data/up/{pk}/{sn}`` carrying
  the request's ``msgid`` (fields ``EPI``, ``EPIJ/EPIF/EPIP/EPIG``, ``Balance``, ``BuyTimes``,
  ``SwitchSta`` 1 = open, ``AlarmA``, ``KeepPower``, ``Tamper``, ``LowCredit``);
* relay: ``FORCESWITCH`` as MeterPro sends it (``do1`` 1 = trip, 0 = close) and ``RELAY`` with
  ``op`` for close-allowed, alarm and keep-power;
* credit: ``{"method": "RECHARGE", "amount": 12.5, "buyTimes": n}`` (ignored when ``n`` ≤ the count).

Limits (:class:`~prepay.meters.drivers.limits.Limits`): the hub connects with MQTT 5 and announces a
Maximum Packet Size of ``mqtt_max_payload`` + 1 KiB, so the broker never sends it a larger message
(Mosquitto drops it for this subscriber); a payload over ``mqtt_max_payload`` that still arrives
(an MQTT 3.1.1-only broker) is dropped before parsing. At most ``mqtt_max_queue`` messages wait
between the network and the dispatcher; more are dropped and counted. Every drop logs one line
(throttled) on ``prepay.wire``; the broker connection stays up, since it carries every meter.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from decimal import Decimal
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from prepay.domain.protocols import mqtt as codec
from prepay.domain.protocols.errors import ProtocolError
from prepay.meters.drivers.base import Capability, DriverError, MeterDriver, Reading, RelayOp, Target, param
from prepay.meters.drivers.limits import Limits, LogThrottle

#: how the ``msgid`` of a poller's request begins: the meter's answer carries it, so a consumer of
#: pushed telemetry (prepay.telemetry.pushes) leaves the answer to the poller that asked
REQUEST_PREFIX = "prepay-"

#: room for the topic and the packet's headers above the payload limit
PACKET_OVERHEAD = 1024


def _bounded_queue(hub: MqttHub) -> type[asyncio.Queue[aiomqtt.Message]]:
    """A queue class for aiomqtt that drops (and counts) a message when it is full."""

    class BoundedQueue(asyncio.Queue[aiomqtt.Message]):
        def put_nowait(self, item: aiomqtt.Message) -> None:
            try:
                super().put_nowait(item)
            except asyncio.QueueFull:
                hub.queue_dropped += 1
                hub.throttle.warning(
                    "mqtt_queue",
                    "MQTT %s:%s: dropped a message on %s: %s messages wait (limit mqtt_max_queue)",
                    hub.host,
                    hub.port,
                    item.topic.value,
                    self.qsize(),
                )

    return BoundedQueue


PENDING_PUBLISHES_NORMAL = 10_000


class MqttHub:
    """One broker connection shared by all MQTT meters; routes acks and telemetry to waiters.

    Counters (never raised into a poll): ``received`` messages, ``rejected`` malformed ones,
    ``oversize`` payloads over the limit, ``queue_dropped`` messages dropped on a full queue.
    """

    def __init__(
        self, host: str, port: int, *, timeout: float, retries: int, limits: Limits | None = None
    ) -> None:
        self.host, self.port = host, port
        self.timeout, self.retries = timeout, retries
        self.limits = limits or Limits()
        self.throttle = LogThrottle()
        self.received = 0
        self.oversize = 0
        self.queue_dropped = 0
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._waiters: dict[tuple[str, str, str], asyncio.Future[Any]] = {}
        self._ids = itertools.count(int(time.time()) % 1_000_000 * 1000)
        # the broker keeps one connection per client id and drops the older one: two pollers (or two
        # machines) started in the same second must never share an id, so it is random, not the clock
        self.client_id = f"prepay-poller-{secrets.token_hex(8)}"
        self._connect_lock = asyncio.Lock()
        self.locks: dict[str, asyncio.Lock] = {}
        self.rejected = 0  # malformed uplinks seen (counted, never raised into a poll)

    async def _ensure(self) -> aiomqtt.Client:
        async with self._connect_lock:
            if self._client is not None and self._task is not None and not self._task.done():
                return self._client
            props = Properties(PacketTypes.CONNECT)
            props.MaximumPacketSize = self.limits.mqtt_max_payload + PACKET_OVERHEAD
            client = aiomqtt.Client(
                self.host,
                self.port,
                identifier=self.client_id,
                protocol=aiomqtt.ProtocolVersion.V5,
                properties=props,
                queue_type=_bounded_queue(self),
                max_queued_incoming_messages=self.limits.mqtt_max_queue,
            )
            # a poll cycle publishes to hundreds of meters at once: that is its normal load, not a
            # backlog for aiomqtt to warn about on every publish (its default threshold is 10)
            client.pending_calls_threshold = PENDING_PUBLISHES_NORMAL
            try:
                await asyncio.wait_for(client.__aenter__(), self.timeout)
                await client.subscribe("data/up/+/+", qos=1)
                await client.subscribe("indicate/dev/+/+", qos=1)
            except (aiomqtt.MqttError, TimeoutError, OSError) as exc:
                raise DriverError("connect", f"MQTT broker {self.host}:{self.port}: {exc}") from None
            self._client = client
            self._task = asyncio.create_task(self._dispatch(client))
            return client

    async def _dispatch(self, client: aiomqtt.Client) -> None:
        with contextlib.suppress(aiomqtt.MqttError, asyncio.CancelledError):
            async for message in client.messages:
                self.received += 1
                payload = message.payload if isinstance(message.payload, bytes) else b""
                if len(payload) > self.limits.mqtt_max_payload:
                    self.oversize += 1
                    self.throttle.warning(
                        "mqtt_oversize",
                        "MQTT %s:%s: dropped a message of %s bytes on %s (limit mqtt_max_payload=%s)",
                        self.host,
                        self.port,
                        len(payload),
                        message.topic.value,
                        self.limits.mqtt_max_payload,
                    )
                    continue
                try:
                    up = codec.parse_uplink(message.topic.value, payload)
                except ProtocolError:
                    self.rejected += 1
                    continue
                if isinstance(up, codec.Telemetry):
                    key = ("data", up.sn, str(up.msgid))
                elif isinstance(up, codec.CommandAck):
                    key = ("ack", up.sn, str(up.msgid))
                else:
                    continue
                fut = self._waiters.get(key)
                if fut is not None and not fut.done():
                    fut.set_result(up)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.__aexit__(None, None, None)
        self._client = self._task = None

    async def request(self, pk: str, sn: str, body: dict[str, Any], expect: str) -> Any:
        """Publish a command; wait for the ``expect`` ("ack" or "data") reply with its msgid."""
        lock = self.locks.setdefault(sn, asyncio.Lock())
        async with lock:
            last: DriverError | None = None
            for _attempt in range(self.retries + 1):
                client = await self._ensure()
                msgid = f"{REQUEST_PREFIX}{next(self._ids)}"
                try:
                    topic, raw = codec.build_command(
                        pk, sn, msgid=msgid, timestamp=int(time.time()), payload=body
                    )
                except ProtocolError as exc:
                    raise DriverError("config", f"meter {sn}: {exc.message}") from None
                loop = asyncio.get_running_loop()
                fut_ack: asyncio.Future[Any] = loop.create_future()
                fut_data: asyncio.Future[Any] = loop.create_future()
                self._waiters[("ack", sn, msgid)] = fut_ack
                self._waiters[("data", sn, msgid)] = fut_data
                try:
                    await client.publish(topic, raw, qos=1)
                    ack = await asyncio.wait_for(fut_ack, self.timeout)
                    if not ack.ok:
                        raise DriverError(
                            "refused", f"meter {sn} refused {body.get('method')}: {ack.errcode}"
                        )
                    if expect == "ack":
                        return ack
                    return await asyncio.wait_for(fut_data, self.timeout)
                except TimeoutError:
                    last = DriverError("timeout", f"meter {sn}: no MQTT answer within {self.timeout}s")
                except aiomqtt.MqttError as exc:
                    last = DriverError("connect", f"MQTT: {exc}")
                finally:
                    self._waiters.pop(("ack", sn, msgid), None)
                    self._waiters.pop(("data", sn, msgid), None)
            assert last is not None
            raise last


#: no register, balance or count a meter reports reaches this (larger: the message is refused, so a
#: meter sending 1e30 cannot overflow the readings table and take the batch it came in down with it)
VALUE_LIMIT = Decimal(10) ** 12


def _num(t: codec.Telemetry, name: str) -> Decimal | None:
    if name not in t.values:
        return None
    try:
        value = t.number(name)
    except ProtocolError as exc:
        raise DriverError("protocol", exc.message, cause=exc) from None
    if abs(value) >= VALUE_LIMIT:
        raise DriverError("protocol", f"meter {t.sn}: {name}={value} is out of range")
    return value


def reading_of(t: codec.Telemetry) -> Reading:
    """The reading a telemetry message carries (``protocol`` error without the register ``EPI``)."""
    total = _num(t, "EPI")
    if total is None:
        raise DriverError("protocol", f"meter {t.sn}: telemetry without EPI")
    if total < 0:
        raise DriverError("protocol", f"meter {t.sn}: EPI={total} is below zero")
    tou = tuple(_num(t, n) for n in ("EPIJ", "EPIF", "EPIP", "EPIG"))
    count = _num(t, "BuyTimes")
    switch = _num(t, "SwitchSta")
    flags = {
        "alarm": bool(_num(t, "AlarmA") or 0),
        "keep_power": bool(_num(t, "KeepPower") or 0),
        "tamper": bool(_num(t, "Tamper") or 0),
        "low_credit": bool(_num(t, "LowCredit") or 0),
    }
    return Reading(
        register=total,
        tou=tou if any(v is not None for v in tou) else None,  # type: ignore[arg-type]
        balance=_num(t, "Balance"),
        relay_open=None if switch is None else switch == 1,
        alarm=flags["alarm"],
        keep_power=flags["keep_power"],
        purchase_count=None if count is None else int(count),
        status=flags,
    )


class MqttDriver(MeterDriver):
    capabilities = frozenset(
        {Capability.READ, Capability.RELAY, Capability.ALARM, Capability.KEEP_POWER, Capability.CREDIT}
    )

    def __init__(self, target: Target, hub: MqttHub) -> None:
        super().__init__(target)
        self.hub = hub
        self.pk = str(param(target, "product_key", str))
        self.sn = str(param(target, "sn", str))

    async def read(self) -> Reading:
        t = await self.hub.request(self.pk, self.sn, {"method": "READDATA"}, "data")
        return reading_of(t)

    async def relay(self, op: RelayOp) -> None:
        body: dict[str, Any]
        if op in (RelayOp.TRIP, RelayOp.CLOSE):
            trip = int(op == RelayOp.TRIP)
            body = {"addr": self.sn, "do1": trip, "forceSwitch": trip, "method": "FORCESWITCH"}
        else:
            body = {"method": "RELAY", "op": op.value}
        await self.hub.request(self.pk, self.sn, body, "ack")

    async def push_credit(self, amount: Decimal, sequence: int) -> None:
        body = {"method": "RECHARGE", "amount": amount.quantize(Decimal("0.01")), "buyTimes": sequence}
        await self.hub.request(self.pk, self.sn, body, "ack")
