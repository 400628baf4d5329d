"""Driver registry keyed by ``Meter.protocol``, and the pool of shared transports a poller owns.

``DriverPool.driver(target)`` builds the driver registered for ``target.protocol`` and hands it the
shared transport of its endpoint: one TCP link per ``host:port`` (a DTU or gateway carrying a bus of
meters), one dial-in link per DTU id, one Modbus connection per gateway, one MQTT broker connection.
Everything in a pool lives on the event loop that called :meth:`DriverPool.start`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from prepay.domain.protocols import cjt188 as cjt188_codec
from prepay.domain.protocols import dlt645 as dlt645_codec
from prepay.meters.choices import Protocol
from prepay.meters.drivers.base import DriverError, MeterDriver, Target, param
from prepay.meters.drivers.cjt188 import Cjt188Driver
from prepay.meters.drivers.dialin import DialInServer, WireEvent
from prepay.meters.drivers.dlt645 import Dlt645Driver
from prepay.meters.drivers.limits import Limits
from prepay.meters.drivers.modbus import ModbusDriver, ModbusGateway
from prepay.meters.drivers.mqtt import MqttDriver, MqttHub
from prepay.meters.drivers.transport import Link, TcpLink

Factory = Callable[[Target, "DriverPool"], MeterDriver]

#: protocol value → driver factory. Add a protocol with :func:`register`.
REGISTRY: dict[str, Factory] = {}


def register(protocol: str) -> Callable[[Factory], Factory]:
    def deco(factory: Factory) -> Factory:
        REGISTRY[protocol] = factory
        return factory

    return deco


def mqtt_url() -> tuple[str, int]:
    """Broker host and port from ``PREPAY_MQTT_URL`` (default ``mqtt://127.0.0.1:1883``)."""
    url = urlsplit(os.environ.get("PREPAY_MQTT_URL", "mqtt://127.0.0.1:1883"))
    return url.hostname or "127.0.0.1", url.port or 1883


#: default TCP port of each protocol reached through a gateway or serial server (None: must be given)
DEFAULT_PORTS: dict[str, int | None] = {
    Protocol.DLT645: None,
    Protocol.CJT188: None,
    Protocol.MODBUS_TCP: 502,
}


def endpoint(target: Target) -> tuple[str, int]:
    """(host, port) of the gateway or serial server ``target`` is reached through (``config`` error
    when its parameters lack them)."""
    host = str(param(target, "host", str, "127.0.0.1"))
    return host, int(param(target, "port", int, DEFAULT_PORTS.get(target.protocol)))


def channel_of(target: Target) -> str:
    """The shared way to ``target`` that one poller at a time may use (prepay.telemetry.poller claims
    it): ``dtu:<id>`` for a meter behind a DTU that dials in, ``tcp:<host>:<port>`` for a meter behind
    a gateway or serial server (every meter on that bus shares it), and "" for a meter that shares
    nothing a poller must hold (MQTT: each message goes through the broker) or whose parameters are
    wrong (its poll says why)."""
    try:
        if target.protocol == Protocol.DLT645 and target.comm_params.get("dtu"):
            return f"dtu:{target.comm_params['dtu']}"
        if target.protocol in DEFAULT_PORTS:
            host, port = endpoint(target)
            return f"tcp:{host}:{port}"
    except DriverError:
        return ""
    return ""


class DriverPool:
    """Shared transports for one poller. ``listen``: (host, port) for DTUs that dial in.

    ``limits`` bound what the transports hold (default: :meth:`Limits.from_env`).
    """

    def __init__(
        self,
        *,
        timeout: float = 2.0,
        retries: int = 1,
        listen: tuple[str, int] | None = None,
        mqtt: tuple[str, int] | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.timeout = timeout
        self.retries = retries
        self.limits = limits or Limits.from_env()
        self.links: dict[tuple[str, str, int], Link[Any]] = {}
        self.gateways: dict[tuple[str, int], ModbusGateway] = {}
        self.dial_in = (
            DialInServer(*listen, timeout=timeout, retries=retries, limits=self.limits) if listen else None
        )
        self._mqtt_address = mqtt or mqtt_url()
        self._mqtt: MqttHub | None = None

    async def start(self) -> None:
        if self.dial_in is not None:
            await self.dial_in.start()

    async def close(self) -> None:
        for link in self.links.values():
            await link.close()
        for gw in self.gateways.values():
            await gw.close()
        if self._mqtt is not None:
            await self._mqtt.close()
        if self.dial_in is not None:
            await self.dial_in.close()

    def take_events(self) -> list[WireEvent]:
        """Security events of the DTU listener waiting for the database writer (then forgotten)."""
        return self.dial_in.take_events() if self.dial_in is not None else []

    def driver(self, target: Target) -> MeterDriver:
        factory = REGISTRY.get(target.protocol)
        if factory is None:
            raise DriverError("config", f"meter {target.serial}: no driver for protocol {target.protocol!r}")
        return factory(target, self)

    def tcp_link(self, target: Target, kind: str, reader: Callable[[], Any]) -> Link[Any]:
        host, port = endpoint(target)
        key = (kind, host, port)
        link = self.links.get(key)
        if link is None:
            link = TcpLink(
                host,
                port,
                reader,
                timeout=self.timeout,
                retries=self.retries,
                spec=self.limits.frame_spec(kind),
                max_buffer=self.limits.max_buffer,
            )
            self.links[key] = link
        return link

    def gateway(self, target: Target) -> ModbusGateway:
        host, port = endpoint(target)
        gw = self.gateways.get((host, port))
        if gw is None:
            gw = ModbusGateway(host, port, timeout=self.timeout, retries=self.retries)
            self.gateways[(host, port)] = gw
        return gw

    def mqtt(self) -> MqttHub:
        if self._mqtt is None:
            self._mqtt = MqttHub(
                *self._mqtt_address, timeout=self.timeout, retries=self.retries, limits=self.limits
            )
        return self._mqtt


@register(Protocol.DLT645)
def _dlt645(target: Target, pool: DriverPool) -> MeterDriver:
    dtu = target.comm_params.get("dtu")
    if dtu:
        if pool.dial_in is None:
            raise DriverError("config", f"meter {target.serial} dials in, but this poller does not listen")
        return Dlt645Driver(target, pool.dial_in.link(str(dtu), dlt645_codec.FrameReader))
    return Dlt645Driver(target, pool.tcp_link(target, "dlt645", dlt645_codec.FrameReader))


@register(Protocol.CJT188)
def _cjt188(target: Target, pool: DriverPool) -> MeterDriver:
    return Cjt188Driver(target, pool.tcp_link(target, "cjt188", cjt188_codec.FrameReader))


@register(Protocol.MODBUS_TCP)
def _modbus(target: Target, pool: DriverPool) -> MeterDriver:
    return ModbusDriver(target, pool.gateway(target))


@register(Protocol.MQTT)
def _mqtt(target: Target, pool: DriverPool) -> MeterDriver:
    return MqttDriver(target, pool.mqtt())
