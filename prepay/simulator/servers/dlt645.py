"""DL/T 645-2007 front end: a bus of virtual meters behind one TCP port, or a DTU that dials in.

:class:`Dlt645Bus` answers frames addressed to its meters like an RS-485 bus behind a transparent
DTU: a frame for an unknown address gets no answer, broadcasts (0x08 time) get none either.
Supported: read (0x11) of the items the driver uses (and the clock, 04000101 / 04000102), write
(0x14) of the vendor credit item (:data:`CREDIT_DI`, plaintext — our simulator's stand-in for a
vendor top-up), remote control (0x1C) with the password and deadline checks of real meters, and
broadcast time (0x08), which sets every meter's clock on the bus.

Meter clocks are wall-clock times in ``tz`` (default: the platform's ``TIME_ZONE`` when Django is
configured, else the system's), the zone the platform's clock sync sends, so a freshly started
fleet's meters show the platform's time. A meter with ``refusing`` set answers 0x1C with the
"meter suspended" error; one with ``reply_delay`` carries the request out and answers late.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from prepay.domain.protocols import dlt645
from prepay.domain.protocols.errors import ProtocolError
from prepay.simulator.meter import MeterRefused, VirtualMeter

#: the simulator's plaintext top-up item: amount XXXXXX.XX (register units) + purchase count XXXX
CREDIT_DI = 0x04A00101
CREDIT_DI_HEX = f"{CREDIT_DI:08X}"

ERR_OTHER, ERR_NO_DATA, ERR_PASSWORD = 0x01, 0x02, 0x04
#: extended 0x1C error bits (State Grid): password, deadline invalid, refused under keep-power
ERR_RC_SUSPENDED, ERR_RC_PASSWORD, ERR_RC_DEADLINE, ERR_RC_KEEP_POWER = 0x01, 0x04, 0x10, 0x20

_OPS = {
    dlt645.RelayAction.TRIP: "trip",
    dlt645.RelayAction.DIRECT_CLOSE: "close",
    dlt645.RelayAction.CLOSE_ALLOWED: "close_allowed",
    dlt645.RelayAction.ALARM: "alarm",
    dlt645.RelayAction.ALARM_RELEASE: "alarm_release",
    dlt645.RelayAction.KEEP_POWER: "keep_power",
    dlt645.RelayAction.KEEP_POWER_RELEASE: "keep_power_release",
}


def platform_zone() -> dt.tzinfo | None:
    """The platform's time zone when Django is configured (meters show the time it syncs), else None."""
    try:
        from django.conf import settings

        return ZoneInfo(settings.TIME_ZONE) if settings.configured else None
    except Exception:  # noqa: BLE001 — no Django, or an unknown zone: the system's local time
        return None


class Dlt645Bus:
    """Virtual meters by 12-digit address; ``password`` is what 0x14 / 0x1C must carry; ``tz`` the zone
    of the meters' wall clocks (default :func:`platform_zone`)."""

    def __init__(
        self,
        meters: list[VirtualMeter] | None = None,
        *,
        password: str = "000000",  # noqa: S107 - factory default
        tz: dt.tzinfo | None = None,
    ) -> None:
        self.meters: dict[str, VirtualMeter] = {}
        self.password = dlt645.Auth(password=password).password
        self.tz = tz or platform_zone()
        self.frames_in = 0
        for m in meters or []:
            self.add(m)

    def _naive_local(self, when: dt.datetime) -> dt.datetime:
        return when.astimezone(self.tz).replace(tzinfo=None)

    def add(self, meter: VirtualMeter) -> None:
        self.meters[dlt645.normalize_address(meter.address)] = meter

    def _value(self, m: VirtualMeter, di: int) -> Any:
        if di == 0x0001FF00:
            return (m.register(), *m.tou_registers())
        if di in (0x00010000, 0x00000000):
            return m.register()
        if di == 0x04000503:
            m.advance()
            return m.status_word_3()
        if di == 0x00900100 and m.local_control:
            return m.balance()
        if di == 0x03330201:
            return m.purchase_count % 10000
        if di == 0x02010100:
            return Decimal("220.0")
        if di == 0x04000101:
            return dlt645.DateWeek.of(self._naive_local(m.meter_time()).date())
        if di == 0x04000102:
            return self._naive_local(m.meter_time()).time().replace(microsecond=0)
        if di == 0x04000401:
            return dlt645.normalize_address(m.address)
        if di == 0x04000306:
            return m.ct_ratio
        if di == 0x04000307:
            return m.pt_ratio
        return None

    def handle(self, frame: dlt645.Frame) -> dlt645.Frame | None:
        """The reply to one request frame (None: no reply, as on a real bus)."""
        if dlt645.is_reply(frame.control):
            return None
        self.frames_in += 1
        if frame.control == dlt645.Function2007.BROADCAST_TIME:
            with contextlib.suppress(ProtocolError):
                when = dlt645.parse_broadcast_time(frame)
                for each in self.meters.values():
                    each.clock_offset = when - self._naive_local(each.clock.now())
            return None
        if frame.control == dlt645.Function2007.READ_ADDRESS and len(self.meters) == 1:
            (addr,) = self.meters
            return dlt645.build_read_address_reply(addr)
        m = self.meters.get(frame.address)
        if m is None or m.silent:
            return None
        m.requests += 1
        func = dlt645.function(frame.control)
        try:
            if frame.control == dlt645.Function2007.READ:
                req = dlt645.parse_read_request(frame)
                value = self._value(m, req.di)
                if value is None:
                    return dlt645.build_error_reply(frame.address, func, ERR_NO_DATA)
                return dlt645.build_read_reply(frame.address, req.di, value)
            if frame.control == dlt645.Function2007.WRITE:
                return self._write(m, frame)
            if frame.control == dlt645.Function2007.REMOTE_CONTROL:
                return self._control(m, frame)
        except ProtocolError:
            return dlt645.build_error_reply(frame.address, func, ERR_OTHER)
        return dlt645.build_error_reply(frame.address, func, ERR_OTHER)

    def _write(self, m: VirtualMeter, frame: dlt645.Frame) -> dlt645.Frame:
        req = dlt645.parse_write_request(frame)
        func = dlt645.Function2007.WRITE
        if req.auth.password != self.password:
            return dlt645.build_error_reply(frame.address, func, ERR_PASSWORD)
        if req.di != CREDIT_DI or len(req.payload) != 6:
            return dlt645.build_error_reply(frame.address, func, ERR_NO_DATA)
        amount = dlt645.decode_value("remaining_energy", req.payload[:4])
        count = dlt645.decode_value("purchase_count", req.payload[4:])
        if not isinstance(amount, Decimal) or not isinstance(count, int):
            return dlt645.build_error_reply(frame.address, func, ERR_OTHER)
        try:
            m.push_credit(amount, count)
        except MeterRefused:
            return dlt645.build_error_reply(frame.address, func, ERR_OTHER)
        return dlt645.build_ack(frame.address, func)

    def _control(self, m: VirtualMeter, frame: dlt645.Frame) -> dlt645.Frame:
        cmd = dlt645.parse_relay_control(frame)
        func = dlt645.Function2007.REMOTE_CONTROL
        if cmd.auth.password != self.password:
            return dlt645.build_error_reply(frame.address, func, ERR_RC_PASSWORD)
        if m.refusing:
            return dlt645.build_error_reply(frame.address, func, ERR_RC_SUSPENDED)
        if cmd.deadline is not None and cmd.deadline < self._naive_local(m.meter_time()):
            return dlt645.build_error_reply(frame.address, func, ERR_RC_DEADLINE)
        op = _OPS.get(cmd.action)
        if op is None:
            return dlt645.build_error_reply(frame.address, func, ERR_OTHER)
        try:
            m.remote(op)
        except MeterRefused as exc:
            err = ERR_RC_KEEP_POWER if exc.code == "keep_power" else ERR_OTHER
            return dlt645.build_error_reply(frame.address, func, err)
        return dlt645.build_ack(frame.address, func)

    async def serve_stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer frames on one byte stream until it closes."""
        frames = dlt645.FrameReader()
        try:
            while chunk := await reader.read(4096):
                for frame in frames.feed(chunk):
                    reply = self.handle(frame)
                    if reply is not None:
                        if (meter := self.meters.get(frame.address)) is not None:
                            await meter.hold_back()
                        writer.write(dlt645.encode_frame(reply))
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()


async def serve_tcp(bus: Dlt645Bus, host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
    """A DTU in server mode: the platform connects to ``host:port``."""
    return await asyncio.start_server(bus.serve_stream, host, port)


async def dial_in(
    bus: Dlt645Bus,
    dtu_id: str,
    host: str,
    port: int,
    *,
    retry: float = 1.0,
    heartbeat: float | None = 30.0,
    stop: asyncio.Event | None = None,
) -> None:
    """A DTU that dials in to the platform's listener, registers as ``dtu_id`` and carries the bus.

    Sends its registration packet again as a heartbeat every ``heartbeat`` seconds (None: never),
    so the listener neither closes it as idle nor lets another connection take its id over.
    Reconnects after ``retry`` seconds whenever the connection fails or drops, until ``stop`` is set.
    """
    stop = stop or asyncio.Event()
    packet = dtu_id.encode("ascii") + b"\n"
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), retry)
            continue
        writer.write(packet)
        beats = asyncio.create_task(_heartbeats(writer, packet, heartbeat)) if heartbeat else None
        try:
            await bus.serve_stream(reader, writer)
        finally:
            if beats is not None:
                beats.cancel()
                with contextlib.suppress(BaseException):
                    await beats
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), retry)


async def _heartbeats(writer: asyncio.StreamWriter, packet: bytes, every: float) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while not writer.is_closing():
            await asyncio.sleep(every)
            writer.write(packet)
