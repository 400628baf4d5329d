"""DL/T 645-2007 driver, over a TCP link to a DTU / gateway or over a DTU that dialled in.

``comm_params``: ``address`` (12 digits) and either ``host`` + ``port`` (connect out) or ``dtu``
(the id a dial-in DTU registers with). Optional, per meter model: ``password_level`` (2),
``password`` ("000000"), ``operator`` ("00000000"), ``deadline_minutes`` (10; 0 sends FF×6),
``deadline_clock`` ("meter", or "server" for meters whose clock cannot be read), ``prepaid``
(true: also read remaining energy and purchase count), ``credit_di`` (hex; the vendor's plaintext
top-up item — plain DL/T 645 has none, so meters without it cannot take remote credit).

Reads: 0001FF00 (total + T1..T4), 04000503 (status word 3), and for prepaid meters 00900100
(remaining energy) and 03330201 (purchase count). Relay operations use 0x1C; clock sync uses the
0x08 broadcast (no reply) addressed through the meter's own link.

**The 0x1C validity deadline is taken from the meter's own clock**: the meter refuses a command
whose deadline is before its clock (``deadline_invalid``), and a meter clock may be minutes or years
off the server's (drift, a meter never synced, a simulator running at 60× speed). Before each relay
command the driver reads the meter's time and date (04000102, 04000101, 04000102 again — a second
time before the first means midnight passed, and the date is read again) and sends that plus
``deadline_minutes``. ``clock_offset`` keeps the last measured meter − server difference. A meter
that refuses the clock read (no such item) falls back to the server's wall clock (the platform's
time zone, as ``sync_clock`` sets it); so does ``deadline_clock: "server"``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from prepay.domain.protocols import dlt645
from prepay.domain.protocols.errors import MeterErrorReply, ProtocolError
from prepay.meters.drivers.base import Capability, DriverError, MeterDriver, Reading, RelayOp, Target, param
from prepay.meters.drivers.transport import Link, protocol_error


def server_now() -> dt.datetime:
    """The server's wall clock in the platform's time zone (naive), as ``sync_clock`` sets meters."""
    from django.utils import timezone

    return timezone.localtime().replace(tzinfo=None, microsecond=0)


DI = {
    "block": 0x0001FF00,
    "total": 0x00010000,
    "status": 0x04000503,
    "remaining": 0x00900100,
    "count": 0x03330201,
    "date": 0x04000101,
    "time": 0x04000102,
}

_ACTIONS = {
    RelayOp.TRIP: dlt645.RelayAction.TRIP,
    RelayOp.CLOSE: dlt645.RelayAction.DIRECT_CLOSE,
    RelayOp.CLOSE_ALLOWED: dlt645.RelayAction.CLOSE_ALLOWED,
    RelayOp.ALARM: dlt645.RelayAction.ALARM,
    RelayOp.ALARM_RELEASE: dlt645.RelayAction.ALARM_RELEASE,
    RelayOp.KEEP_POWER: dlt645.RelayAction.KEEP_POWER,
    RelayOp.KEEP_POWER_RELEASE: dlt645.RelayAction.KEEP_POWER_RELEASE,
}


def _answers(request: dlt645.Frame) -> Callable[[dlt645.Frame], bool]:
    """Which received frames may answer ``request``: replies (on a shared bus we may hear our own
    request echoed) to the same function and, for a read, the same DI (or an error reply).

    Anything else is a late answer to an earlier request that timed out — a meter that answers
    beyond the timeout — still in the connection's buffer: it is skipped, never taken for this
    request's answer (which would leave the link one answer behind for as long as it is busy).
    A reply from another meter is not skipped: the parser reports it (``address_mismatch``).
    """
    func = dlt645.function(request.control)
    di = request.data[:4] if func == dlt645.Function2007.READ else None

    def accept(frame: dlt645.Frame) -> bool:
        if not dlt645.is_reply(frame.control) or dlt645.function(frame.control) != func:
            return False
        return di is None or dlt645.is_error(frame.control) or frame.data[:4] == di

    return accept


class Dlt645Driver(MeterDriver):
    def __init__(self, target: Target, link: Link[dlt645.Frame]) -> None:
        super().__init__(target)
        self.link = link
        try:
            self.address = dlt645.normalize_address(str(param(target, "address", str)))
            self.auth = dlt645.Auth(
                level=int(target.comm_params.get("password_level", 2)),
                password=str(target.comm_params.get("password", "000000")),
                operator=str(target.comm_params.get("operator", "00000000")),
            )
        except ProtocolError as exc:
            raise DriverError("config", f"meter {target.serial}: {exc.message}") from None
        self.prepaid = bool(target.comm_params.get("prepaid", True))
        self.deadline_minutes = int(target.comm_params.get("deadline_minutes", 10))
        self.deadline_clock = str(target.comm_params.get("deadline_clock", "meter"))
        #: meter clock − server clock at the last clock read (None: not read, or the server's used)
        self.clock_offset: dt.timedelta | None = None
        credit_di = target.comm_params.get("credit_di")
        self.credit_di = int(credit_di, 16) if isinstance(credit_di, str) and credit_di else None
        caps = {Capability.READ, Capability.RELAY, Capability.ALARM, Capability.KEEP_POWER, Capability.CLOCK}
        if self.credit_di is not None:
            caps.add(Capability.CREDIT)
        self.capabilities = frozenset(caps)

    async def _send(self, frame: dlt645.Frame, *, command: bool = False) -> dlt645.Frame:
        """Send ``frame``, return the reply; ``command``: it changes the meter (see Link.request)."""
        try:
            raw = dlt645.encode_frame(frame)
        except ProtocolError as exc:
            raise protocol_error(exc) from None
        reply = await self.link.request(raw, _answers(frame), command=command)
        assert reply is not None
        return reply

    async def read_item(self, di: int, *, command: bool = False) -> Any:
        """Read one data item; ``command``: the read prepares a command (see Link.request)."""
        reply = await self._send(dlt645.build_read(self.address, di), command=command)
        try:
            return dlt645.parse_read_reply(reply, expected_address=self.address, expected_di=di).value
        except MeterErrorReply as exc:
            raise DriverError(
                "refused", f"meter {self.address} refused to read {di:08X}: {exc.flags}"
            ) from None
        except ProtocolError as exc:
            raise protocol_error(exc) from None

    async def read(self) -> Reading:
        block = await self.read_item(DI["block"])
        if not isinstance(block, tuple) or not block or not isinstance(block[0], Decimal):
            raise DriverError("protocol", f"meter {self.address}: energy block without a total")
        status_raw = await self.read_item(DI["status"])
        word = dlt645.StatusWord3(status_raw if isinstance(status_raw, int) else 0)
        balance: Decimal | None = None
        count: int | None = None
        if self.prepaid:
            value = await self.read_item(DI["remaining"])
            balance = value if isinstance(value, Decimal) else None
            n = await self.read_item(DI["count"])
            count = int(n) if isinstance(n, int | Decimal) else None
        tou = tuple(v if isinstance(v, Decimal) else None for v in (list(block[1:5]) + [None] * 4)[:4])
        return Reading(
            register=block[0],
            tou=tou,  # type: ignore[arg-type]
            balance=balance,
            relay_open=word.relay_open,
            alarm=word.pre_trip_alarm,
            keep_power=word.keep_power,
            purchase_count=count,
            status={
                "status_word_3": word.raw,
                "alarm": word.pre_trip_alarm,
                "keep_power": word.keep_power,
                "meter_type": word.meter_type,
            },
        )

    async def _ack(self, frame: dlt645.Frame, func: int) -> None:
        reply = await self._send(frame, command=True)
        try:
            dlt645.parse_ack(reply, func, expected_address=self.address)
        except MeterErrorReply as exc:
            raise DriverError("refused", f"meter {self.address} refused: {', '.join(exc.flags)}") from None
        except ProtocolError as exc:
            raise protocol_error(exc) from None

    async def meter_clock(self) -> dt.datetime:
        """The meter's clock (naive, meter local time), read as time, date, time.

        Raises DriverError (``refused`` when the meter has no clock items, ``protocol`` when it
        answers something that is not a time or date).
        """
        # read as a command: a DTU id under dispute gets no byte of it (the command would not go)
        first = await self.read_item(DI["time"], command=True)
        day = await self.read_item(DI["date"], command=True)
        second = await self.read_item(DI["time"], command=True)
        if isinstance(second, dt.time) and isinstance(first, dt.time) and second < first:
            day = await self.read_item(DI["date"], command=True)  # midnight passed between the reads
        if not isinstance(day, dlt645.DateWeek) or not isinstance(second, dt.time):
            raise DriverError("protocol", f"meter {self.address}: no valid clock in its answer")
        return dt.datetime.combine(day.date, second)

    async def deadline(self) -> dt.datetime | None:
        """The 0x1C validity deadline: the meter's clock + ``deadline_minutes`` (None: FF×6)."""
        if self.deadline_minutes <= 0:
            return None
        now = server_now()
        if self.deadline_clock != "server":
            try:
                meter_now = await self.meter_clock()
            except DriverError as exc:
                if exc.code != "refused":  # timeouts and bad answers: the command cannot go either
                    raise
            else:  # otherwise the meter has no readable clock: the server's wall clock it is
                self.clock_offset = meter_now - server_now()
                now = meter_now
        return now + dt.timedelta(minutes=self.deadline_minutes)

    async def relay(self, op: RelayOp) -> None:
        deadline = await self.deadline()
        try:
            frame = dlt645.build_relay_control(self.address, _ACTIONS[op], auth=self.auth, deadline=deadline)
        except ProtocolError as exc:
            raise protocol_error(exc) from None
        await self._ack(frame, dlt645.Function2007.REMOTE_CONTROL)

    async def push_credit(self, amount: Decimal, sequence: int) -> None:
        if self.credit_di is None:
            await super().push_credit(amount, sequence)
            return
        try:
            payload = dlt645.encode_value("remaining_energy", amount.quantize(Decimal("0.01"))) + (
                dlt645.encode_value("purchase_count", sequence % 10000)
            )
            frame = dlt645.build_write_raw(self.address, self.credit_di, payload, self.auth)
        except ProtocolError as exc:
            raise DriverError("protocol", f"cannot encode credit: {exc.message}") from None
        await self._ack(frame, dlt645.Function2007.WRITE)

    async def sync_clock(self, now: dt.datetime) -> None:
        frame = dlt645.build_broadcast_time(now.replace(microsecond=0))
        await self.link.request(dlt645.encode_frame(frame), expect_reply=False, command=True)
