"""DL/T 645 builders (master → meter and, for simulators, meter → master) and reply parsers.

Builders return :class:`Frame`; pass it to :func:`encode_frame`. Parsers take a decoded frame and
raise :class:`ProtocolError` for anything unexpected and :class:`MeterErrorReply` for an abnormal
reply. Per-model policy (password level PA, password, operator code, 0x1C deadline) is passed in by
the caller: it is configuration, never a constant here (spec §1.3).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import IntEnum

from prepay.domain.protocols.errors import EncodeError, ProtocolError

from .control import Function1997, Function2007, function, is_reply, raise_if_error, reply_control
from .formats import DATETIME, Value
from .frame import (
    BROADCAST_ADDRESS,
    WILDCARD_ADDRESS,
    Frame,
    address_from_wire,
    address_to_wire,
    normalize_address,
)
from .registry import DI_LENGTH, REGISTRY, Version, di_to_wire


def _hex_field(value: str, nbytes: int, what: str) -> bytes:
    """``"123456"`` (printed high byte first) → ``56 34 12`` (sent low byte first)."""
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raw = b""
    if len(raw) != nbytes:
        raise EncodeError(f"{what} {value!r} is not {2 * nbytes} hex digits")
    return raw[::-1]


@dataclass(frozen=True, slots=True)
class Auth:
    """Password level PA, password P2P1P0 and operator code C3..C0, printed high byte first.

    PA 02 / 04 are plaintext levels; 98 means ciphertext + MAC checked by the meter's ESAM (not
    something we can produce). All three are per-meter-model configuration.
    """

    level: int = 0x02
    password: str = "000000"  # noqa: S105 - the factory default, not a secret
    operator: str = "00000000"

    def __post_init__(self) -> None:
        if not 0 <= self.level <= 0xFF:
            raise EncodeError(f"password level {self.level} is not a byte")
        object.__setattr__(self, "password", _hex_field(self.password, 3, "password")[::-1].hex().upper())
        object.__setattr__(
            self, "operator", _hex_field(self.operator, 4, "operator code")[::-1].hex().upper()
        )

    def to_wire(self, *, operator: bool = True) -> bytes:
        """PA P0 P1 P2 [C0 C1 C2 C3] (plain bytes)."""
        out = bytes([self.level]) + _hex_field(self.password, 3, "password")
        return out + _hex_field(self.operator, 4, "operator code") if operator else out

    @classmethod
    def from_wire(cls, raw: bytes, *, operator: bool = True) -> Auth:
        return cls(raw[0], raw[1:4][::-1].hex(), raw[4:8][::-1].hex() if operator else "00000000")


def _functions(version: Version) -> tuple[int, int, int]:
    """(read, write, broadcast time) function codes of a version."""
    if version == Version.V1997:
        return Function1997.READ, Function1997.WRITE, Function1997.BROADCAST_TIME
    return Function2007.READ, Function2007.WRITE, Function2007.BROADCAST_TIME


def _di_from(data: bytes, version: Version) -> int:
    n = DI_LENGTH[version]
    if len(data) < n:
        raise ProtocolError("truncated", f"data field shorter than the {n}-byte DI")
    return int.from_bytes(data[:n], "little")


def _expect_request(frame: Frame, func: int) -> None:
    if frame.control != func:
        raise ProtocolError("unexpected_control", f"C={frame.control:02X}, expected {func:02X}")


def check_reply(frame: Frame, func: int, expected_address: str | None = None) -> None:
    """Raise unless ``frame`` is a (normal or follow-up) reply to ``func`` from ``expected_address``.

    Abnormal replies raise :class:`MeterErrorReply`. A wildcard/broadcast expected address matches any.
    """
    if not is_reply(frame.control) or function(frame.control) != func:
        raise ProtocolError("unexpected_control", f"C={frame.control:02X} is not a reply to {func:02X}")
    if expected_address is not None:
        want = normalize_address(expected_address)
        if want not in (WILDCARD_ADDRESS, BROADCAST_ADDRESS) and not all(
            w in ("A", g) for w, g in zip(want, frame.address, strict=True)
        ):
            raise ProtocolError("address_mismatch", f"reply from {frame.address}, asked {want}")
    raise_if_error(frame)


# --- read -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReadRequest:
    address: str
    di: int
    extra: bytes = b""  # optional N / load-record time after the DI (2007)


def build_read(address: str, di: int, *, version: Version = Version.V2007, extra: bytes = b"") -> Frame:
    """Read request: C=11 (2007) or 01 (1997), data = DI [+ extra]."""
    return Frame(address, _functions(version)[0], di_to_wire(di, version) + extra)


def parse_read_request(frame: Frame, *, version: Version = Version.V2007) -> ReadRequest:
    _expect_request(frame, _functions(version)[0])
    n = DI_LENGTH[version]
    return ReadRequest(frame.address, _di_from(frame.data, version), frame.data[n:])


@dataclass(frozen=True, slots=True)
class ReadReply:
    """A normal read reply. ``value`` is decoded when the DI is in the registry (``known``)."""

    address: str
    di: int
    data: bytes
    value: Value
    known: bool
    follow_up: bool


def build_read_reply(
    address: str,
    di: int,
    value: Value | bytes,
    *,
    version: Version = Version.V2007,
    follow_up: bool = False,
) -> Frame:
    """Meter-side read reply; ``value`` is encoded with the registry, or sent as-is if ``bytes``."""
    if isinstance(value, bytes):
        payload = value
    else:
        item = REGISTRY[version].get(di)
        if item is None:
            raise EncodeError(f"DI {di:X} is unknown; pass the value as bytes")
        payload = item.format.encode(value)
    func = _functions(version)[0]
    return Frame(address, reply_control(func, follow_up=follow_up), di_to_wire(di, version) + payload)


def parse_read_reply(
    frame: Frame,
    *,
    version: Version = Version.V2007,
    expected_address: str | None = None,
    expected_di: int | None = None,
) -> ReadReply:
    """Read reply → :class:`ReadReply`. Raises MeterErrorReply for D1/C1 replies, ProtocolError else
    (unexpected_control, address_mismatch, di_mismatch, bad_length, bcd, bad_value)."""
    check_reply(frame, _functions(version)[0], expected_address)
    di = _di_from(frame.data, version)
    if expected_di is not None and di != expected_di:
        raise ProtocolError("di_mismatch", f"reply carries DI {di:X}, asked {expected_di:X}")
    data = frame.data[DI_LENGTH[version] :]
    item = REGISTRY[version].get(di)
    value = item.format.decode(data) if item is not None else None
    return ReadReply(frame.address, di, data, value, item is not None, bool(frame.control & 0x20))


# --- read address (2007 0x13) -----------------------------------------------------------------------


def build_read_address() -> Frame:
    """``68 AA×6 68 13 00 CS 16``: ask the only meter on the bus for its address."""
    return Frame(WILDCARD_ADDRESS, Function2007.READ_ADDRESS)


def build_read_address_reply(address: str) -> Frame:
    return Frame(address, reply_control(Function2007.READ_ADDRESS), address_to_wire(address))


def parse_read_address_reply(frame: Frame) -> str:
    """0x93 reply → the meter address carried in the data field."""
    check_reply(frame, Function2007.READ_ADDRESS)
    if len(frame.data) != 6:
        raise ProtocolError("bad_length", f"address reply with {len(frame.data)} data bytes")
    return address_from_wire(frame.data)


# --- write ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WriteRequest:
    address: str
    di: int
    auth: Auth
    payload: bytes


def build_write_raw(
    address: str, di: int, payload: bytes, auth: Auth, *, version: Version = Version.V2007
) -> Frame:
    """Write: 2007 C=14, DI(4) PA P0P1P2 C0..C3 data; 1997 C=04, DI(2) PA P0P1P2 data (no operator)."""
    body = di_to_wire(di, version) + auth.to_wire(operator=version == Version.V2007) + payload
    return Frame(address, _functions(version)[1], body)


def build_write(
    address: str, di: int, value: Value, auth: Auth, *, version: Version = Version.V2007
) -> Frame:
    """Write a registry item (the value is encoded with the DI's format)."""
    item = REGISTRY[version].get(di)
    if item is None:
        raise EncodeError(f"DI {di:X} is unknown; use build_write_raw")
    return build_write_raw(address, di, item.format.encode(value), auth, version=version)


def parse_write_request(frame: Frame, *, version: Version = Version.V2007) -> WriteRequest:
    _expect_request(frame, _functions(version)[1])
    n = DI_LENGTH[version]
    auth_len = 8 if version == Version.V2007 else 4
    if len(frame.data) < n + auth_len:
        raise ProtocolError("truncated", "write request without the full password/operator field")
    auth = Auth.from_wire(frame.data[n : n + auth_len], operator=version == Version.V2007)
    return WriteRequest(frame.address, _di_from(frame.data, version), auth, frame.data[n + auth_len :])


# --- acknowledgements (write, 0x1C, …) --------------------------------------------------------------


def build_ack(address: str, func: int) -> Frame:
    """Meter-side normal reply without data (e.g. ``9C 00`` after a relay command)."""
    return Frame(address, reply_control(func))


def build_error_reply(address: str, func: int, err: int) -> Frame:
    """Meter-side abnormal reply ``C|0xC0`` + ERR (1 byte, or 2 little-endian bytes above 0xFF)."""
    if not 0 <= err <= 0xFFFF:
        raise EncodeError(f"ERR {err} does not fit two bytes")
    return Frame(address, reply_control(func, error=True), err.to_bytes(1 if err <= 0xFF else 2, "little"))


def parse_ack(frame: Frame, func: int, *, expected_address: str | None = None) -> None:
    """Accept a normal reply to ``func``; raises MeterErrorReply / ProtocolError otherwise."""
    check_reply(frame, func, expected_address)


# --- broadcast time (0x08) --------------------------------------------------------------------------


def build_broadcast_time(when: dt.datetime) -> Frame:
    """``68 99×6 68 08 06 ss mm hh DD MM YY``: **seconds first** (spec §1.7; dlt645 3.2.0 gets this
    wrong). Meters do not reply. Same layout for 1997."""
    return Frame(BROADCAST_ADDRESS, Function2007.BROADCAST_TIME, DATETIME.encode(when))


def parse_broadcast_time(frame: Frame) -> dt.datetime:
    _expect_request(frame, Function2007.BROADCAST_TIME)
    value = DATETIME.decode(frame.data)
    if not isinstance(value, dt.datetime):
        raise ProtocolError("bad_value", "broadcast time is all FF")
    return value


# --- remote control (0x1C) --------------------------------------------------------------------------


class RelayAction(IntEnum):
    """N1 of a 0x1C remote-control command."""

    TRIP = 0x1A  # 拉闸; refused while keep-power is active
    CLOSE_ALLOWED = 0x1B  # 合闸允许: the user presses the button ≥3 s
    DIRECT_CLOSE = 0x1C  # 直接合闸
    TRIP_AUTO_RECOVER_1D = 0x1D  # trip, recover after N2×5 min (exact recovery mode vendor-specific)
    TRIP_AUTO_RECOVER_1E = 0x1E
    ALARM = 0x2A  # pre-trip alarm (status word 3 bit 7)
    ALARM_RELEASE = 0x2B
    KEEP_POWER = 0x3A  # 保电
    KEEP_POWER_RELEASE = 0x3B


@dataclass(frozen=True, slots=True)
class RelayCommand:
    address: str
    action: RelayAction
    auth: Auth
    deadline: dt.datetime | None  # None = FF×6 ("no deadline", some models)
    n2: int = 0  # auto-recovery time in 5-minute units for 1D/1E, else 0


def build_relay_control(
    address: str,
    action: RelayAction,
    *,
    auth: Auth,
    deadline: dt.datetime | None,
    n2: int = 0,
) -> Frame:
    """0x1C: PA P0P1P2 C0..C3 N1 N2 ss mm hh DD MM YY (L=16).

    The meter rejects the command if ``deadline`` (meter local time) is before its clock; ``None``
    sends ``FF``×6, which some models require. The deadline policy is per-model configuration.
    """
    if not 0 <= n2 <= 0xFF:
        raise EncodeError(f"N2 {n2} is not a byte")
    limit = b"\xff" * 6 if deadline is None else DATETIME.encode(deadline)
    body = auth.to_wire() + bytes([RelayAction(action), n2]) + limit
    return Frame(address, Function2007.REMOTE_CONTROL, body)


def parse_relay_control(frame: Frame) -> RelayCommand:
    _expect_request(frame, Function2007.REMOTE_CONTROL)
    if len(frame.data) != 16:
        raise ProtocolError("bad_length", f"0x1C data field of {len(frame.data)} bytes, expected 16")
    try:
        action = RelayAction(frame.data[8])
    except ValueError:
        raise ProtocolError("bad_value", f"unknown relay action N1={frame.data[8]:02X}") from None
    value = DATETIME.decode(frame.data[10:16])
    deadline = value if isinstance(value, dt.datetime) else None
    return RelayCommand(frame.address, action, Auth.from_wire(frame.data[:8]), deadline, frame.data[9])
