"""Modbus TCP front end (pymodbus 3.16 ``SimDevice`` server): one port, up to 247 meters by unit id.

Registers follow the ``prepay_sim`` map (``prepay/meters/drivers/maps/prepay_sim.json``). Reads are
served from the meter's live state (refreshed in the device action); writes to ``control`` and
``credit_amount`` + ``credit_sequence`` become meter calls, and a refused one answers with Modbus
exception 4 (device failure).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from decimal import Decimal
from functools import partial

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from prepay.domain.protocols.modbus import RegisterMap, decode_point
from prepay.meters.drivers.maps import SIM_MAP, STATUS_BITS, register_map
from prepay.simulator.meter import MeterRefused, VirtualMeter

SIZE = 0x30  # registers served per device (the map fits in 0x00..0x24)


def _u32(value: Decimal, scale: Decimal) -> list[int]:
    raw = int((value / scale).to_integral_value()) & 0xFFFFFFFF
    return [raw >> 16, raw & 0xFFFF]


def image(m: VirtualMeter, regmap: RegisterMap) -> list[int]:
    """The register block 0..SIZE of meter ``m`` now."""
    regs = [0] * SIZE
    cent = Decimal("0.01")
    total, tou = m.register(), m.tou_registers()
    for name, value in (
        ("energy_total", total),
        ("energy_sharp", tou[0]),
        ("energy_peak", tou[1]),
        ("energy_flat", tou[2]),
        ("energy_valley", tou[3]),
        ("balance", m.balance()),
    ):
        p = regmap.point(name)
        regs[p.address : p.address + 2] = _u32(value, cent)
    regs[regmap.point("purchase_count").address] = m.purchase_count & 0xFFFF
    regs[regmap.point("relay").address] = 1 if m.relay_open else 0
    flags = m.flags()
    regs[regmap.point("status").address] = sum(
        1 << bit for name, bit in STATUS_BITS.items() if flags.get(name)
    )
    regs[regmap.point("voltage").address] = 2200
    return regs


async def _action(
    meters: dict[int, VirtualMeter],
    unit: int,
    function_code: int,
    start_address: int,
    address: int,
    count: int,
    current_registers: list[int],
    set_values: list[int] | list[bool] | None,
) -> ExcCodes | None:
    m = meters.get(unit)
    if m is None or m.silent:
        # what a gateway answers when the meter behind it is silent
        return ExcCodes.GATEWAY_NO_RESPONSE
    m.requests += 1
    regmap = register_map(SIM_MAP)
    if set_values is None:  # a read: refresh the block from the meter
        img = image(m, regmap)
        for i in range(len(current_registers)):
            a = start_address + i
            current_registers[i] = img[a] if a < SIZE else 0
        return None
    values = [int(v) for v in set_values]
    control = regmap.point("control")
    credit = regmap.point("credit_amount")
    try:
        if address == control.address and len(values) == 1:
            names = {v: k for k, v in control.values.items()}
            if values[0] not in names:
                return ExcCodes.ILLEGAL_VALUE
            m.remote(names[values[0]])
        elif address == credit.address and len(values) == 3:
            amount = decode_point(credit, values[:2])
            m.push_credit(amount, values[2])
        else:
            return ExcCodes.ILLEGAL_ADDRESS
    except MeterRefused:
        return ExcCodes.DEVICE_FAILURE
    return None


def devices(meters: dict[int, VirtualMeter]) -> list[SimDevice]:
    """One ``SimDevice`` per unit id, all sharing one action that reads the live meters."""
    return [
        SimDevice(
            id=unit,
            simdata=[SimData(0, count=SIZE, values=0, datatype=DataType.REGISTERS)],
            action=partial(_action, meters, unit),
        )
        for unit in sorted(meters)
    ]


class ModbusFrontEnd:
    """A pymodbus TCP server for ``meters`` (unit id → meter) on ``host:port`` (0 = any free port)."""

    def __init__(self, meters: dict[int, VirtualMeter], host: str = "127.0.0.1", port: int = 0) -> None:
        if not meters or not all(1 <= u <= 247 for u in meters):
            raise ValueError("unit ids are 1..247 and at least one meter is needed")
        self.meters = meters
        self._reserved: socket.socket | None = None
        if not port:
            self._reserved = reserve_port(host)
            port = int(self._reserved.getsockname()[1])
        self.host, self.port = host, port
        self.server = ModbusTcpServer(devices(meters), address=(self.host, self.port))
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self.server.serve_forever())
        # serve_forever binds first; wait until the port answers so callers never race it
        for _ in range(200):
            try:
                _r, w = await asyncio.open_connection(self.host, self.port)
            except OSError:
                await asyncio.sleep(0.01)
                continue
            w.close()
            self._release()
            return
        raise RuntimeError(f"Modbus server on {self.host}:{self.port} did not start")

    def _release(self) -> None:
        if self._reserved is not None:
            self._reserved.close()
            self._reserved = None

    async def stop(self) -> None:
        self._release()
        await self.server.shutdown()
        if self._task is not None:
            with contextlib.suppress(BaseException):
                await self._task


def reserve_port(host: str) -> socket.socket:
    """A socket bound to a free port of ``host`` and kept bound until the server is listening there.

    A port merely found free (bound, then closed) can be taken before the server binds it: every
    outgoing connection picks its local port from the same range (``make demo`` once failed on
    "address already in use" that way). This socket holds the port meanwhile. It has
    ``SO_REUSEADDR`` and never listens, so the server (asyncio and pymodbus bind with
    ``SO_REUSEADDR`` too) can bind and listen beside it; close it once the server is listening."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, 0))
    except OSError:
        sock.close()
        raise
    return sock
