"""DL/T 645 data formats: how the bytes of one data item become a Python value and back.

Every format works on the *plain* item bytes (−0x33 applied), low byte first. Values are ``Decimal``
(numbers with decimals), ``int`` (counts, ratios, binary words), ``str`` (addresses / customer
numbers), ``date``/``time``/``datetime``/:class:`DateWeek`, ``tuple`` (blocks) or ``None`` (the item is
filled with ``FF``: "not supported"). ``decode`` raises ProtocolError, ``encode`` raises EncodeError.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, Inexact, localcontext
from typing import NamedTuple, Protocol, TypeAlias

from prepay.domain.protocols.bcd import bcd_to_int, digits_le, from_digits_le, int_to_bcd
from prepay.domain.protocols.errors import EncodeError, ProtocolError


class DateWeek(NamedTuple):
    """DL/T 645 date with weekday (YYMMDDWW); weekday 0 = Sunday … 6 = Saturday, as the meter says."""

    date: dt.date
    weekday: int

    @classmethod
    def of(cls, day: dt.date) -> DateWeek:
        return cls(day, (day.weekday() + 1) % 7)


Scalar: TypeAlias = Decimal | int | str | dt.date | dt.time | dt.datetime | DateWeek | None
Value: TypeAlias = Scalar | tuple[Scalar, ...]


class Format(Protocol):
    """What a registry entry needs from its format."""

    @property
    def length(self) -> int: ...

    @property
    def spec(self) -> str: ...

    def decode(self, data: bytes) -> Value: ...

    def encode(self, value: Value) -> bytes: ...


def _check_length(data: bytes, length: int) -> None:
    if len(data) != length:
        raise ProtocolError("bad_length", f"item needs {length} bytes, got {len(data)}")


def _absent(data: bytes) -> bool:
    return bool(data) and all(b == 0xFF for b in data)


@dataclass(frozen=True, slots=True)
class Number:
    """Packed BCD number of ``length`` bytes with ``decimals`` implied decimal places.

    ``signed``: the top bit of the most significant (last) byte is the sign, the rest is BCD.
    ``decimals == 0`` decodes to ``int``, otherwise to ``Decimal`` with exactly that many places.
    """

    length: int
    decimals: int = 0
    signed: bool = False

    @property
    def spec(self) -> str:
        digits = 2 * self.length
        s = "X" * (digits - self.decimals) + ("." + "X" * self.decimals if self.decimals else "")
        return ("±" if self.signed else "") + s

    def decode(self, data: bytes) -> Value:
        _check_length(data, self.length)
        if _absent(data):
            return None
        negative = False
        if self.signed and data[-1] & 0x80:
            negative = True
            data = data[:-1] + bytes([data[-1] & 0x7F])
        magnitude = int(digits_le(data))
        if negative:
            magnitude = -magnitude
        if not self.decimals:
            return magnitude
        return Decimal(magnitude).scaleb(-self.decimals)

    def encode(self, value: Value) -> bytes:
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise EncodeError(f"{value!r} is not a number")
        d = Decimal(value)
        if not d.is_finite() or abs(d) >= 10 ** (2 * self.length):
            raise EncodeError(f"{value!r} does not fit {self.spec}")
        with localcontext() as ctx:
            ctx.prec = 2 * self.length + 2
            ctx.traps[Inexact] = True
            try:
                scaled = d.scaleb(self.decimals)
            except Inexact:
                raise EncodeError(f"{value} has more than {self.decimals} decimal places") from None
        if scaled != scaled.to_integral_value():
            raise EncodeError(f"{value} has more than {self.decimals} decimal places")
        n = int(scaled)
        if n < 0 and not self.signed:
            raise EncodeError(f"{value} is negative but {self.spec} is unsigned")
        top = 10 ** (2 * self.length - 1) * 8 if self.signed else 10 ** (2 * self.length)
        if abs(n) >= top:
            raise EncodeError(f"{value} does not fit {self.spec}")
        raw = from_digits_le(str(abs(n)), self.length)
        if n < 0:
            raw = raw[:-1] + bytes([raw[-1] | 0x80])
        return raw


@dataclass(frozen=True, slots=True)
class Binary:
    """A binary word (status words), little-endian, decoded to ``int``."""

    length: int

    @property
    def spec(self) -> str:
        return f"bin{8 * self.length}"

    def decode(self, data: bytes) -> Value:
        _check_length(data, self.length)
        return int.from_bytes(data, "little")

    def encode(self, value: Value) -> bytes:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << (8 * self.length):
            raise EncodeError(f"{value!r} is not a {8 * self.length}-bit word")
        return value.to_bytes(self.length, "little")


@dataclass(frozen=True, slots=True)
class Digits:
    """A digit string (address, customer number): ``length`` BCD bytes → ``2*length`` digits."""

    length: int

    @property
    def spec(self) -> str:
        return "N" * (2 * self.length)

    def decode(self, data: bytes) -> Value:
        _check_length(data, self.length)
        return None if _absent(data) else digits_le(data)

    def encode(self, value: Value) -> bytes:
        if not isinstance(value, str):
            raise EncodeError(f"{value!r} is not a digit string")
        return from_digits_le(value, self.length)


def _bcd_fields(data: bytes) -> list[int]:
    return [bcd_to_int(b) for b in data]


def _bad(what: str, data: bytes) -> ProtocolError:
    return ProtocolError("bad_value", f"{data.hex(' ')} is not a valid {what}")


def _check_bcd_time(value: object, kind: type) -> None:
    if not isinstance(value, kind) or (isinstance(value, dt.datetime) and kind is dt.date):
        raise EncodeError(f"{value!r} is not a {kind.__name__}")


def _year2(year: int) -> int:
    if not 2000 <= year <= 2099:
        raise EncodeError(f"year {year} outside 2000..2099")
    return year - 2000


@dataclass(frozen=True, slots=True)
class DateWithWeek:
    """YYMMDDWW (wire: WW DD MM YY) → :class:`DateWeek`."""

    length: int = 4
    spec: str = "YYMMDDWW"

    def decode(self, data: bytes) -> Value:
        _check_length(data, 4)
        if _absent(data):
            return None
        ww, dd, mm, yy = _bcd_fields(data)
        try:
            return DateWeek(dt.date(2000 + yy, mm, dd), ww)
        except ValueError:
            raise _bad("date", data) from None

    def encode(self, value: Value) -> bytes:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            value = DateWeek.of(value)
        if not isinstance(value, DateWeek) or not 0 <= value.weekday <= 6:
            raise EncodeError(f"{value!r} is not a DateWeek")
        d = value.date
        return bytes(int_to_bcd(x) for x in (value.weekday, d.day, d.month, _year2(d.year)))


@dataclass(frozen=True, slots=True)
class TimeOfDay:
    """hhmmss (wire: ss mm hh) → ``time``."""

    length: int = 3
    spec: str = "hhmmss"

    def decode(self, data: bytes) -> Value:
        _check_length(data, 3)
        if _absent(data):
            return None
        ss, mi, hh = _bcd_fields(data)
        try:
            return dt.time(hh, mi, ss)
        except ValueError:
            raise _bad("time", data) from None

    def encode(self, value: Value) -> bytes:
        _check_bcd_time(value, dt.time)
        assert isinstance(value, dt.time)
        return bytes(int_to_bcd(x) for x in (value.second, value.minute, value.hour))


@dataclass(frozen=True, slots=True)
class DateTime:
    """YYMMDDhhmmss (wire: ss mm hh DD MM YY) → naive ``datetime`` (meter local time).

    Also the byte order of broadcast time (0x08) and of the 0x1C validity deadline.
    """

    length: int = 6
    spec: str = "YYMMDDhhmmss"

    def decode(self, data: bytes) -> Value:
        _check_length(data, 6)
        if _absent(data):
            return None
        ss, mi, hh, dd, mo, yy = _bcd_fields(data)
        try:
            return dt.datetime(2000 + yy, mo, dd, hh, mi, ss)  # meter local time, naive
        except ValueError:
            raise _bad("date-time", data) from None

    def encode(self, value: Value) -> bytes:
        _check_bcd_time(value, dt.datetime)
        assert isinstance(value, dt.datetime)
        v = value
        return bytes(int_to_bcd(x) for x in (v.second, v.minute, v.hour, v.day, v.month, _year2(v.year)))


@dataclass(frozen=True, slots=True)
class Block:
    """``count`` consecutive items of the same format (the DI with ``FF`` in one byte)."""

    item: Number
    count: int

    @property
    def length(self) -> int:
        return self.item.length * self.count

    @property
    def spec(self) -> str:
        return f"{self.count}×{self.item.spec}"

    def decode(self, data: bytes) -> Value:
        _check_length(data, self.length)
        n = self.item.length
        out: list[Scalar] = []
        for i in range(self.count):
            v = self.item.decode(data[i * n : (i + 1) * n])
            assert not isinstance(v, tuple)
            out.append(v)
        return tuple(out)

    def encode(self, value: Value) -> bytes:
        if not isinstance(value, tuple) or len(value) != self.count:
            raise EncodeError(f"{value!r} is not a tuple of {self.count} values")
        return b"".join(b"\xff" * self.item.length if v is None else self.item.encode(v) for v in value)


DATETIME = DateTime()
