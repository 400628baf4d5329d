"""MQTT front end: virtual 4G meters answering platform commands through a real broker (aiomqtt).

One broker connection carries every meter of the fleet (as a gateway would). Conventions are
those of :mod:`prepay.meters.drivers.mqtt`: commands on ``indicate/server/{pk}/{sn}``, acks on
``indicate/dev/{pk}/{sn}``, telemetry on ``data/up/{pk}/{sn}`` (carrying the request's ``msgid``
for ``READDATA``; with ``publish_every`` also pushed unasked).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from decimal import Decimal, InvalidOperation
from typing import Any

import aiomqtt

from prepay.domain.protocols import mqtt as codec
from prepay.domain.protocols.errors import ProtocolError
from prepay.meters.drivers.registry import mqtt_url
from prepay.simulator.meter import MeterRefused, VirtualMeter


def telemetry(m: VirtualMeter) -> dict[str, Any]:
    tou = m.tou_registers()
    flags = m.flags()
    return {
        "EPI": m.register(),
        "EPIJ": tou[0],
        "EPIF": tou[1],
        "EPIP": tou[2],
        "EPIG": tou[3],
        "Balance": m.balance(),
        "BuyTimes": m.purchase_count,
        "SwitchSta": 1 if m.relay_open else 0,
        "AlarmA": int(flags["alarm"]),
        "KeepPower": int(flags["keep_power"]),
        "Tamper": int(flags["tamper"]),
        "LowCredit": int(flags["low_credit"]),
        "CT": m.ct_ratio,
        "PT": m.pt_ratio,
        "Ua": Decimal("220.0"),
    }


class MqttFrontEnd:
    """Meters by serial (``sn``) under one product key; :meth:`run` until :meth:`stop`."""

    def __init__(
        self,
        meters: dict[str, VirtualMeter],
        *,
        product_key: str = "prepay-sim",
        host: str | None = None,
        port: int | None = None,
        publish_every: float | None = None,
    ) -> None:
        self.meters = meters
        self.pk = product_key
        # the platform's broker (PREPAY_MQTT_URL) unless told otherwise
        default_host, default_port = mqtt_url()
        self.host, self.port = host or default_host, port or default_port
        self.publish_every = publish_every
        self.ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._msgids = 0

    async def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        async with aiomqtt.Client(self.host, self.port, identifier=f"prepay-sim-{id(self)}") as client:
            await client.subscribe(f"indicate/server/{self.pk}/+", qos=1)
            self.ready.set()
            tasks = [asyncio.create_task(self._serve(client))]
            if self.publish_every:
                tasks.append(asyncio.create_task(self._push(client)))
            await self._stop.wait()
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(BaseException):
                    await t

    async def _push(self, client: aiomqtt.Client) -> None:
        assert self.publish_every
        while True:
            await asyncio.sleep(self.publish_every)
            for sn, m in self.meters.items():
                self._msgids += 1
                topic, raw = codec.build_telemetry(
                    self.pk, sn, msgid=f"push-{self._msgids}", timestamp=int(time.time()), values=telemetry(m)
                )
                await client.publish(topic, raw, qos=0)

    async def _serve(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload if isinstance(message.payload, bytes) else b""
            try:
                cmd = codec.parse_downlink(message.topic.value, payload)
            except ProtocolError:
                continue
            if not isinstance(cmd, codec.Command):
                continue
            m = self.meters.get(cmd.sn)
            if m is None or m.silent:
                continue
            m.requests += 1
            ok, err = True, None
            method = str(cmd.payload.get("method", ""))
            try:
                self._apply(m, method, cmd.payload)
            except MeterRefused as exc:
                ok, err = False, exc.code
            topic, raw = codec.build_ack(cmd.product_key, cmd.sn, msgid=cmd.msgid, ok=ok, errcode=err)
            await client.publish(topic, raw, qos=1)
            if ok and method == "READDATA":
                topic, raw = codec.build_telemetry(
                    cmd.product_key, cmd.sn, msgid=cmd.msgid, timestamp=int(time.time()), values=telemetry(m)
                )
                await client.publish(topic, raw, qos=1)

    @staticmethod
    def _apply(m: VirtualMeter, method: str, body: Any) -> None:
        if method == "READDATA":
            return
        if method == "FORCESWITCH":
            m.remote("trip" if body.get("do1") == 1 else "close")
        elif method == "RELAY":
            m.remote(str(body.get("op", "")))
        elif method == "RECHARGE":
            try:
                amount = Decimal(str(body.get("amount")))
                seq = int(str(body.get("buyTimes")))
            except (InvalidOperation, ValueError):
                raise MeterRefused("bad_request", "bad recharge") from None
            m.push_credit(amount, seq)
        else:
            raise MeterRefused("unknown_method", method)
