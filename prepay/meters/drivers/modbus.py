"""Modbus TCP driver (pymodbus 3.16 async client), register layout from a map data file.

``comm_params``: ``host``, ``port`` (502), ``unit`` (device id, 1), ``map`` (``prepay_sim``; any
bundled map works for reading energy). Meters behind one gateway share one connection, one request
at a time. Points used when the map has them: ``energy_total`` (required), ``energy_sharp`` …
``energy_valley``, ``balance``, ``purchase_count``, ``relay`` (0 closed / 1 open), ``status`` (bits in
:data:`~prepay.meters.drivers.maps.STATUS_BITS`), ``control`` (relay operations by name), and
``credit_amount`` + ``credit_sequence`` (remote credit, written in one function-16 request).
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from prepay.domain.protocols.errors import ProtocolError
from prepay.domain.protocols.modbus import RegisterMap, decode_registers, encode_write
from prepay.meters.drivers.base import Capability, DriverError, MeterDriver, Reading, RelayOp, Target, param
from prepay.meters.drivers.maps import SIM_MAP, STATUS_BITS, register_map
from prepay.meters.drivers.transport import protocol_error

# pymodbus logs every failed request at ERROR; the poller reports failures itself.
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


class ModbusGateway:
    """One TCP connection to a Modbus gateway / meter; one outstanding request at a time."""

    def __init__(self, host: str, port: int, *, timeout: float, retries: int) -> None:
        self.host, self.port = host, port
        self.name = f"{host}:{port}"
        self.timeout, self.retries = timeout, retries
        self.lock = asyncio.Lock()
        self.client = AsyncModbusTcpClient(host, port=port, timeout=timeout, retries=0, reconnect_delay=0)

    async def close(self) -> None:
        self.client.close()

    async def call(self, fn: str, *args: Any, **kw: Any) -> Any:
        async with self.lock:
            last: DriverError | None = None
            for _attempt in range(self.retries + 1):
                if not self.client.connected:
                    try:
                        ok = await asyncio.wait_for(self.client.connect(), self.timeout)
                    except (TimeoutError, OSError, ModbusException):
                        ok = False
                    if not ok:
                        last = DriverError("connect", f"cannot connect to {self.name}")
                        continue
                try:
                    rr = await asyncio.wait_for(getattr(self.client, fn)(*args, **kw), self.timeout * 1.5)
                except (TimeoutError, ModbusException, OSError) as exc:
                    last = DriverError("timeout", f"{self.name}: {type(exc).__name__} {exc}".strip())
                    self.client.close()
                    continue
                if rr.isError():
                    code = getattr(rr, "exception_code", 0)
                    raise DriverError("refused", f"{self.name}: Modbus exception {code}")
                return rr
            assert last is not None
            raise last


class ModbusDriver(MeterDriver):
    def __init__(self, target: Target, gateway: ModbusGateway) -> None:
        super().__init__(target)
        self.gateway = gateway
        self.unit = int(param(target, "unit", int, 1))
        try:
            self.map: RegisterMap = register_map(str(target.comm_params.get("map", SIM_MAP)))
        except ProtocolError as exc:
            raise DriverError("config", f"meter {target.serial}: {exc.message}") from None
        names = {p.name for p in self.map.points}
        if "energy_total" not in names:
            raise DriverError("config", f"map {self.map.model} has no energy_total")
        caps = {Capability.READ}
        if "control" in names:
            caps |= {Capability.RELAY, Capability.ALARM, Capability.KEEP_POWER}
        if {"credit_amount", "credit_sequence", "purchase_count"} <= names:
            caps.add(Capability.CREDIT)
        self.capabilities = frozenset(caps)
        self.blocks = self.map.read_blocks()

    async def read(self) -> Reading:
        values: dict[str, Decimal] = {}
        for start, count in self.blocks:
            rr = await self.gateway.call("read_holding_registers", start, count=count, device_id=self.unit)
            regs = list(getattr(rr, "registers", []) or [])
            if len(regs) != count:
                raise DriverError("protocol", f"{self.gateway.name} unit {self.unit}: {len(regs)} registers")
            try:
                values.update(decode_registers(self.map, regs, start=start))
            except ProtocolError as exc:
                raise protocol_error(exc) from None
        status_raw = int(values.get("status", 0))
        flags = {name: bool(status_raw >> bit & 1) for name, bit in STATUS_BITS.items()}
        relay = values.get("relay")
        tou = tuple(values.get(f"energy_{n}") for n in ("sharp", "peak", "flat", "valley"))
        return Reading(
            register=values["energy_total"],
            tou=tou if any(v is not None for v in tou) else None,  # type: ignore[arg-type]
            balance=values.get("balance"),
            relay_open=None if relay is None else relay == 1,
            alarm=flags["alarm"],
            keep_power=flags["keep_power"],
            purchase_count=int(values["purchase_count"]) if "purchase_count" in values else None,
            status=flags | ({"status": status_raw} if "status" in values else {}),
        )

    async def relay(self, op: RelayOp) -> None:
        if not self.can(Capability.RELAY):
            await super().relay(op)
        try:
            address, words = encode_write(self.map, "control", op.value)
        except ProtocolError as exc:
            raise DriverError("unsupported", f"map {self.map.model}: {exc.message}") from None
        await self.gateway.call("write_registers", address, words, device_id=self.unit)

    async def push_credit(self, amount: Decimal, sequence: int) -> None:
        if not self.can(Capability.CREDIT):
            await super().push_credit(amount, sequence)
        try:
            a_addr, a_words = encode_write(self.map, "credit_amount", amount.quantize(Decimal("0.01")))
            s_addr, s_words = encode_write(self.map, "credit_sequence", sequence % 65536 or 1)
        except ProtocolError as exc:
            raise DriverError("protocol", f"cannot encode credit: {exc.message}") from None
        if s_addr != a_addr + len(a_words):
            raise DriverError("config", f"map {self.map.model}: credit_sequence must follow credit_amount")
        await self.gateway.call("write_registers", a_addr, a_words + s_words, device_id=self.unit)
