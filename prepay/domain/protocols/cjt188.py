"""CJ/T 188 (household meters: water, heat, gas) codec, pure; water-meter reads and valve control.

::

    [FE…] 68 T A0..A6 C L DATA(L bytes: DI0 DI1 SER payload) CS 16

* T = meter type (0x10 cold water, 0x11 hot water, 0x20/0x21 heat, 0x30 gas, 0x40 custom).
* A0..A6: 14 BCD digits (incl. a 2-byte manufacturer code), low byte first; ``AA`` = wildcard.
* No ±0x33; CS = byte sum of 68..DATA.
* DIs are kept as **wire bytes**: the 2004 and 2018 editions disagree on their byte order and the
  spec's concrete frames use ``1F 90`` for the read (901F) and ``A0 17`` for the valve (A017).
  Reply parsers accept either order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum, IntEnum

from .bcd import checksum, digits_le, is_bcd
from .errors import EncodeError, MeterErrorReply, ProtocolError
from .stream import StreamReader

START = 0x68
END = 0x16
PREAMBLE = b"\xfe\xfe\xfe\xfe"
COLD_WATER = 0x10
HOT_WATER = 0x11
WILDCARD_ADDRESS = "A" * 14
_HEADER = 11  # 68 T A0..A6 C L

DI_READ_DATA = b"\x1f\x90"  # 901F, order of the spec's read frame (hftangyu)
DI_VALVE = b"\xa0\x17"  # A017, order of the spec's valve frames
VALVE_OPEN = 0x55
VALVE_CLOSE = 0x99


class Function(IntEnum):
    READ_DATA = 0x01
    READ_ADDRESS = 0x03
    WRITE_DATA = 0x04
    READ_KEY_VERSION = 0x09
    WRITE_ADDRESS = 0x15
    WRITE_SYNC_DATA = 0x16


#: CJ/T 188 unit codes (only 0x2C is confirmed by our spec; the rest is the standard's table).
UNITS: dict[int, str] = {
    0x01: "J",
    0x02: "Wh",
    0x05: "kWh",
    0x08: "MWh",
    0x0A: "MWh×100",
    0x0B: "kJ",
    0x0E: "MJ",
    0x11: "GJ",
    0x13: "GJ×100",
    0x14: "W",
    0x17: "kW",
    0x1A: "MW",
    0x29: "L",
    0x2C: "m³",
    0x32: "L/h",
    0x35: "m³/h",
}


def normalize_address(address: str) -> str:
    """14 characters, each pair two decimal digits or ``AA``; shorter digit strings are 0-padded."""
    a = address.upper()
    if a.isascii() and a.isdigit() and len(a) < 14:
        a = a.rjust(14, "0")
    if len(a) != 14 or not all(
        a[i : i + 2] == "AA" or (a[i : i + 2].isascii() and a[i : i + 2].isdigit()) for i in range(0, 14, 2)
    ):
        raise EncodeError(f"address {address!r} is not 14 BCD digits (or AA wildcards)")
    return a


@dataclass(frozen=True, slots=True)
class Frame:
    """One CJ/T 188 frame; ``data`` is the whole data field (DI, SER, payload; or SER+ST on errors)."""

    meter_type: int
    address: str
    control: int
    data: bytes = b""

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", normalize_address(self.address))
        if not (0 <= self.meter_type <= 0xFF and 0 <= self.control <= 0xFF):
            raise EncodeError("meter type and control must be bytes")
        if len(self.data) > 0xFF:
            raise EncodeError(f"data field of {len(self.data)} bytes exceeds 255")

    @property
    def is_reply(self) -> bool:
        return bool(self.control & 0x80)

    @property
    def is_error(self) -> bool:
        return bool(self.control & 0x80) and bool(self.control & 0x40)

    @property
    def function(self) -> int:
        return self.control & 0x3F


def encode_frame(frame: Frame, preamble: bool = True) -> bytes:
    body = (
        bytes([START, frame.meter_type])
        + bytes.fromhex(frame.address)[::-1]
        + bytes([frame.control, len(frame.data)])
        + frame.data
    )
    return (PREAMBLE if preamble else b"") + body + bytes([checksum(body), END])


def _parse_at(buf: bytes | bytearray, i: int) -> tuple[Frame, int]:
    n = len(buf)
    if n - i < 1:
        raise ProtocolError("truncated", "empty input")
    if buf[i] != START:
        raise ProtocolError("bad_start", f"expected 68, got {buf[i]:02X}")
    if n - i < _HEADER:
        raise ProtocolError("truncated", "header incomplete")
    raw_address = bytes(buf[i + 2 : i + 9])
    if not all(b == 0xAA or is_bcd(b) for b in raw_address):
        raise ProtocolError("bad_address", f"address bytes {raw_address.hex(' ')} are not BCD")
    length = buf[i + 10]
    end = i + _HEADER + length + 2
    if n < end:
        raise ProtocolError("truncated", f"frame needs {end - i} bytes, have {n - i}")
    cs = checksum(bytes(buf[i : end - 2]))
    if buf[end - 2] != cs:
        raise ProtocolError("checksum", f"checksum {buf[end - 2]:02X}, computed {cs:02X}")
    if buf[end - 1] != END:
        raise ProtocolError("bad_end", f"expected 16, got {buf[end - 1]:02X}")
    frame = Frame(buf[i + 1], raw_address[::-1].hex().upper(), buf[i + 9], bytes(buf[i + _HEADER : end - 2]))
    return frame, end


def decode_frame(raw: bytes) -> Frame:
    """Exactly one frame, leading FE allowed. Raises ProtocolError."""
    i = 0
    while i < len(raw) and raw[i] == 0xFE:
        i += 1
    frame, end = _parse_at(raw, i)
    if end != len(raw):
        raise ProtocolError("trailing", f"{len(raw) - end} bytes after the frame")
    return frame


class FrameReader(StreamReader[Frame]):
    """Stream decoder with resynchronisation; same contract as the DL/T 645 ``FrameReader``."""

    def __init__(self) -> None:
        super().__init__(_parse_at, START)


def _check_ser(ser: int) -> None:
    if not 0 <= ser <= 0xFF:
        raise EncodeError(f"SER {ser} is not a byte")


def _check_di(di: bytes) -> None:
    if len(di) != 2:
        raise EncodeError("a CJ/T 188 DI is 2 bytes")


def _same_di(got: bytes, want: bytes) -> bool:
    return got in (want, want[::-1])


def _expect_reply(frame: Frame, func: int, di: bytes, expected_address: str | None) -> tuple[int, bytes]:
    """Check control / address / DI of a reply; returns (SER, payload)."""
    if not frame.is_reply or frame.function != func:
        raise ProtocolError("unexpected_control", f"C={frame.control:02X} is not a reply to {func:02X}")
    if expected_address is not None:
        want = normalize_address(expected_address)
        if not all(w in ("A", g) for w, g in zip(want, frame.address, strict=True)):
            raise ProtocolError("address_mismatch", f"reply from {frame.address}, asked {want}")
    if frame.is_error:
        # abnormal reply: SER + ST (2 bytes) in CJ/T 188-2004; keep whatever is there as the error word
        err = int.from_bytes(frame.data[-2:], "little") if len(frame.data) >= 2 else 0
        raise MeterErrorReply(func, err, (), f"meter refused function {func:02X}: {frame.data.hex(' ')}")
    if len(frame.data) < 3:
        raise ProtocolError("truncated", "reply without DI and SER")
    if not _same_di(frame.data[:2], di):
        raise ProtocolError("di_mismatch", f"reply DI {frame.data[:2].hex()} is not {di.hex()}")
    return frame.data[2], frame.data[3:]


# --- status -----------------------------------------------------------------------------------------


class ValveState(Enum):
    OPEN = "open"
    CLOSED = "closed"
    ABNORMAL = "abnormal"
    UNKNOWN = "unknown"


class StatusLayout(Enum):
    """Where the valve / battery bits sit in status byte 1 (sources disagree, see docs)."""

    STANDARD = "standard"  # D1D0: 00 open, 01 closed, 11 abnormal; D2 battery low (CJ/T 188-2004)
    CJ188H = "cj188h"  # mask C0: 00 open, 40 closed, C0 abnormal; 0x20 battery low (cj188.h)


@dataclass(frozen=True, slots=True)
class Status:
    raw: bytes  # ST as received (byte 1 standard, byte 2 vendor-defined)
    valve: ValveState
    battery_low: bool


def decode_status(st: bytes, layout: StatusLayout = StatusLayout.STANDARD) -> Status:
    if len(st) != 2:
        raise ProtocolError("bad_length", f"status needs 2 bytes, got {len(st)}")
    b = st[0]
    if layout is StatusLayout.STANDARD:
        bits, battery = b & 0x03, bool(b & 0x04)
    else:
        bits, battery = (b & 0xC0) >> 6, bool(b & 0x20)
    valve = {0: ValveState.OPEN, 1: ValveState.CLOSED, 3: ValveState.ABNORMAL}.get(bits, ValveState.UNKNOWN)
    return Status(bytes(st), valve, battery)


def encode_status(
    valve: ValveState, battery_low: bool = False, layout: StatusLayout = StatusLayout.STANDARD
) -> bytes:
    bits = {ValveState.OPEN: 0, ValveState.CLOSED: 1, ValveState.ABNORMAL: 3, ValveState.UNKNOWN: 2}[valve]
    if layout is StatusLayout.STANDARD:
        b = bits | (0x04 if battery_low else 0)
    else:
        b = bits << 6 | (0x20 if battery_low else 0)
    return bytes([b, 0])


# --- read (901F) ------------------------------------------------------------------------------------


def build_read(
    address: str, *, meter_type: int = COLD_WATER, ser: int = 0, di: bytes = DI_READ_DATA
) -> Frame:
    """Read metering data: C=01, L=03, DI, SER."""
    _check_ser(ser)
    _check_di(di)
    return Frame(meter_type, address, Function.READ_DATA, di + bytes([ser]))


@dataclass(frozen=True, slots=True)
class Flow:
    value: Decimal  # XXXXXX.XX
    unit_code: int

    @property
    def unit(self) -> str:
        return UNITS.get(self.unit_code, f"unit_{self.unit_code:02X}")


@dataclass(frozen=True, slots=True)
class WaterReading:
    meter_type: int
    address: str
    ser: int
    current: Flow  # cumulative flow now
    settlement: Flow  # cumulative flow on the settlement day
    time: dt.datetime | None  # meter clock (None if all FF / zero)
    status: Status
    extra: bytes  # vendor bytes after the standard 19


def _flow(raw: bytes) -> Flow:
    return Flow(Decimal(int(digits_le(raw[:4]))).scaleb(-2), raw[4])


def _flow_bytes(flow: Flow) -> bytes:
    v = flow.value.scaleb(2)
    if not flow.value.is_finite() or v != v.to_integral_value() or not 0 <= v < 10**8:
        raise EncodeError(f"flow {flow.value} does not fit XXXXXX.XX")
    if not 0 <= flow.unit_code <= 0xFF:
        raise EncodeError("unit code is not a byte")
    return bytes.fromhex(f"{int(v):08d}")[::-1] + bytes([flow.unit_code])


def _time(raw: bytes) -> dt.datetime | None:
    if all(b == 0xFF for b in raw) or not any(raw):
        return None
    digits = digits_le(raw)  # "YYYYMMDDhhmmss", sent ss mm hh DD MM YY CC
    try:
        return dt.datetime.strptime(digits, "%Y%m%d%H%M%S")  # meter local time, naive
    except ValueError:
        raise ProtocolError("bad_value", f"{raw.hex(' ')} is not a valid time") from None


def parse_read_reply(
    frame: Frame,
    *,
    expected_address: str | None = None,
    layout: StatusLayout = StatusLayout.STANDARD,
) -> WaterReading:
    """C=81 reply → :class:`WaterReading`. Payload after DI+SER: current flow (4 BCD + unit), settlement
    flow (4 + unit), time (7 BCD, ss first), status (2). Raises ProtocolError / MeterErrorReply."""
    ser, p = _expect_reply(frame, Function.READ_DATA, DI_READ_DATA, expected_address)
    if len(p) < 19:
        raise ProtocolError("bad_length", f"read reply payload of {len(p)} bytes, need 19")
    return WaterReading(
        frame.meter_type,
        frame.address,
        ser,
        _flow(p[0:5]),
        _flow(p[5:10]),
        _time(p[10:17]),
        decode_status(p[17:19], layout),
        p[19:],
    )


def build_read_reply(reading: WaterReading, *, di: bytes = DI_READ_DATA) -> Frame:
    """Meter-side reply (for simulators). The status goes out as ``reading.status.raw`` (2 bytes,
    vendor bits included); build it with :func:`encode_status`."""
    _check_di(di)
    _check_ser(reading.ser)
    if len(reading.status.raw) != 2:
        raise EncodeError("status must be 2 bytes")
    t = b"\x00" * 7 if reading.time is None else bytes.fromhex(reading.time.strftime("%Y%m%d%H%M%S"))[::-1]
    if len(t) != 7:
        raise EncodeError("time out of range")
    payload = (
        _flow_bytes(reading.current)
        + _flow_bytes(reading.settlement)
        + t
        + reading.status.raw
        + reading.extra
    )
    return Frame(
        reading.meter_type, reading.address, 0x80 | Function.READ_DATA, di + bytes([reading.ser]) + payload
    )


# --- valve (A017) -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ValveCommand:
    meter_type: int
    address: str
    ser: int
    open: bool


def build_valve(
    address: str, open: bool, *, meter_type: int = COLD_WATER, ser: int = 0, di: bytes = DI_VALVE
) -> Frame:
    """Valve control: C=04, L=04, DI A017, SER, 55 (open) / 99 (close)."""
    _check_ser(ser)
    _check_di(di)
    return Frame(
        meter_type, address, Function.WRITE_DATA, di + bytes([ser, VALVE_OPEN if open else VALVE_CLOSE])
    )


def parse_valve_command(frame: Frame) -> ValveCommand:
    """Meter side: a valve request → :class:`ValveCommand`."""
    if frame.control != Function.WRITE_DATA:
        raise ProtocolError("unexpected_control", f"C={frame.control:02X}, expected 04")
    if len(frame.data) != 4:
        raise ProtocolError("bad_length", f"valve request with {len(frame.data)} data bytes")
    if not _same_di(frame.data[:2], DI_VALVE):
        raise ProtocolError("di_mismatch", f"DI {frame.data[:2].hex()} is not A017")
    if frame.data[3] not in (VALVE_OPEN, VALVE_CLOSE):
        raise ProtocolError("bad_value", f"valve argument {frame.data[3]:02X} is neither 55 nor 99")
    return ValveCommand(frame.meter_type, frame.address, frame.data[2], frame.data[3] == VALVE_OPEN)


@dataclass(frozen=True, slots=True)
class ValveReply:
    address: str
    ser: int
    status: Status


def build_valve_reply(
    address: str,
    valve: ValveState,
    *,
    meter_type: int = COLD_WATER,
    ser: int = 0,
    battery_low: bool = False,
    layout: StatusLayout = StatusLayout.STANDARD,
) -> Frame:
    _check_ser(ser)
    st = encode_status(valve, battery_low, layout)
    return Frame(meter_type, address, 0x80 | Function.WRITE_DATA, DI_VALVE + bytes([ser]) + st)


def parse_valve_reply(
    frame: Frame, *, expected_address: str | None = None, layout: StatusLayout = StatusLayout.STANDARD
) -> ValveReply:
    """C=84 reply: DI, SER, ST (2). Raises ProtocolError / MeterErrorReply."""
    ser, p = _expect_reply(frame, Function.WRITE_DATA, DI_VALVE, expected_address)
    if len(p) != 2:
        raise ProtocolError("bad_length", f"valve reply payload of {len(p)} bytes, need 2")
    return ValveReply(frame.address, ser, decode_status(p, layout))
