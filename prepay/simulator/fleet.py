"""Fleets: many virtual meters per process, each answering on its protocol over real sockets.

Layout (every listener on ``host``; ports chosen by the OS unless ``base_port`` is given,
and held from :meth:`Fleet.add` until the listeners are up):

* ``modbus_tcp`` — one pymodbus server per ``per_port`` meters (unit ids 1..``per_port`` ≤ 247);
* ``dlt645`` — one TCP port per bus of ``per_port`` addresses, like an RS-485 line behind a DTU in
  server mode; meters with ``dial_in`` are carried by DTUs that connect to the platform's listener;
* ``cjt188`` — one TCP port per bus of water meters;
* ``mqtt`` — one broker connection for all MQTT meters.

:meth:`Fleet.add` returns the ``comm_params`` a driver needs to reach the meter; :mod:`.binding`
writes them to the database. :class:`FleetThread` runs a fleet on an event loop in a background
thread (tests, the ``simulate`` command, the demo).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from prepay.domain.protocols import cjt188 as cjt188_codec
from prepay.domain.protocols import dlt645 as dlt645_codec
from prepay.meters.drivers.registry import mqtt_url
from prepay.simulator.meter import VirtualMeter
from prepay.simulator.servers import cjt188, dlt645, modbus
from prepay.simulator.servers.mqtt import MqttFrontEnd

T = TypeVar("T")


@dataclass
class _Group:
    """Meters sharing one listener (a bus / a Modbus gateway)."""

    protocol: str
    meters: list[VirtualMeter] = field(default_factory=list)
    port: int = 0
    dtu: str = ""


class Fleet:
    """Virtual meters and their servers. Add meters first, then ``await start()``."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        per_port: int = 32,
        base_port: int = 0,
        mqtt: tuple[str, int] | None = None,
        product_key: str = "prepay-sim",
        dial_in_to: tuple[str, int] | None = None,
    ) -> None:
        if not 1 <= per_port <= 247:
            raise ValueError("per_port is 1..247")
        self.host = host
        self.per_port = per_port
        self.base_port = base_port
        self.mqtt_address = mqtt or mqtt_url()  # the platform's broker (PREPAY_MQTT_URL)
        self.product_key = product_key
        self.dial_in_to = dial_in_to
        self.meters: list[VirtualMeter] = []
        self.protocols: dict[str, str] = {}  # serial → protocol
        self._groups: list[_Group] = []
        self._open: dict[str, _Group] = {}
        self._servers: list[asyncio.Server] = []
        self._modbus: list[modbus.ModbusFrontEnd] = []
        self._mqtt: MqttFrontEnd | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._stop = asyncio.Event()
        self._next_port = base_port
        self._dtus = 0
        self._reserved: list[socket.socket] = []

    def _port(self) -> int:
        if not self.base_port:
            sock = modbus.reserve_port(self.host)
            self._reserved.append(sock)
            return int(sock.getsockname()[1])
        port = self._next_port
        self._next_port += 1
        return port

    def add(self, meter: VirtualMeter, protocol: str, *, dial_in: bool = False) -> dict[str, Any]:
        """Place ``meter`` on a listener for ``protocol``; returns its ``comm_params``."""
        key = protocol + (":dial" if dial_in else "")
        group = self._open.get(key)
        if group is None or len(group.meters) >= self.per_port:
            group = _Group(protocol)
            if dial_in:
                if self.dial_in_to is None:
                    raise ValueError("dial-in meters need dial_in_to=(host, port) of the platform listener")
                self._dtus += 1
                group.dtu = f"SIMDTU{self._dtus:04d}"
            elif protocol != "mqtt":
                group.port = self._port()
            self._groups.append(group)
            self._open[key] = group
        group.meters.append(meter)
        self.meters.append(meter)
        self.protocols[meter.serial] = protocol
        if protocol == "modbus_tcp":
            unit = len(group.meters)
            return {"host": self.host, "port": group.port, "unit": unit, "map": "prepay_sim"}
        if protocol == "dlt645":
            meter.address = dlt645_codec.normalize_address(meter.address or _digits(meter.serial, 12))
            params: dict[str, Any] = {
                "address": meter.address,
                "prepaid": meter.local_control,
                "credit_di": dlt645.CREDIT_DI_HEX,
            }
            if dial_in:
                params["dtu"] = group.dtu
            else:
                params |= {"host": self.host, "port": group.port}
            return params
        if protocol == "cjt188":
            meter.address = cjt188_codec.normalize_address(_digits(meter.address or meter.serial, 14))
            return {"host": self.host, "port": group.port, "address": meter.address}
        if protocol == "mqtt":
            return {"product_key": self.product_key, "sn": meter.serial}
        raise ValueError(f"unknown protocol {protocol!r}")

    def meter(self, serial: str) -> VirtualMeter:
        for m in self.meters:
            if m.serial == serial:
                return m
        raise KeyError(serial)

    async def start(self) -> None:
        mqtt_meters: dict[str, VirtualMeter] = {}
        for g in self._groups:
            if g.protocol == "modbus_tcp":
                fe = modbus.ModbusFrontEnd({i + 1: m for i, m in enumerate(g.meters)}, self.host, g.port)
                await fe.start()
                self._modbus.append(fe)
            elif g.protocol == "dlt645":
                bus = dlt645.Dlt645Bus(g.meters)
                if g.dtu:
                    assert self.dial_in_to is not None
                    self._tasks.append(
                        asyncio.create_task(dlt645.dial_in(bus, g.dtu, *self.dial_in_to, stop=self._stop))
                    )
                else:
                    self._servers.append(await dlt645.serve_tcp(bus, self.host, g.port))
            elif g.protocol == "cjt188":
                self._servers.append(await cjt188.serve_tcp(cjt188.Cjt188Bus(g.meters), self.host, g.port))
            elif g.protocol == "mqtt":
                mqtt_meters.update({m.serial: m for m in g.meters})
        self.release_ports()
        if mqtt_meters:
            self._mqtt = MqttFrontEnd(
                mqtt_meters,
                product_key=self.product_key,
                host=self.mqtt_address[0],
                port=self.mqtt_address[1],
            )
            task = asyncio.create_task(self._mqtt.run())
            self._tasks.append(task)
            ready = asyncio.create_task(self._mqtt.ready.wait())
            done, _pending = await asyncio.wait(
                {task, ready}, timeout=10, return_when=asyncio.FIRST_COMPLETED
            )
            if ready not in done:
                ready.cancel()
                if task.done() and task.exception() is not None:
                    raise ConnectionError(f"MQTT broker {self.mqtt_address}: {task.exception()}")
                raise ConnectionError(f"MQTT broker {self.mqtt_address} did not answer")

    def release_ports(self) -> None:
        """Let go of the ports held since :meth:`add` (:func:`modbus.reserve_port`): done by
        :meth:`start` once every listener is up, and by :meth:`stop`; a fleet built but never started
        calls it itself."""
        for sock in self._reserved:
            sock.close()
        self._reserved.clear()

    async def stop(self) -> None:
        self.release_ports()
        self._stop.set()
        if self._mqtt is not None:
            await self._mqtt.stop()
        for s in self._servers:
            s.close()
        for fe in self._modbus:
            await fe.stop()
        for t in self._tasks:
            t.cancel()
            with contextlib.suppress(BaseException):
                await t
        for s in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(s.wait_closed(), 2)

    def requests(self) -> int:
        return sum(m.requests for m in self.meters)


def _digits(text: str, width: int) -> str:
    digits = "".join(c for c in text if c.isdigit()) or "0"
    return digits[-width:].zfill(width)


class FleetThread:
    """Runs a :class:`Fleet` on its own event loop in a daemon thread."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="sim-fleet", daemon=True)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30) -> T:
        fut: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout)

    def start(self) -> FleetThread:
        self.thread.start()
        self.call(self.fleet.start())
        return self

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.call(self.fleet.stop(), timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    def __enter__(self) -> FleetThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
