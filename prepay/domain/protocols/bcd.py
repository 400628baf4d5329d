"""Byte helpers shared by the DL/T 645 and CJ/T 188 codecs: packed BCD, ±0x33, sum checksums.

BCD here is "compressed": two decimal digits per byte, high nibble = tens. Multi-byte BCD items are
little-endian on the wire (low byte first). Decoders raise ``ProtocolError("bcd")`` for a nibble > 9;
encoders raise :class:`EncodeError` for values that do not fit.
"""

from __future__ import annotations

from .errors import EncodeError, ProtocolError


def checksum(data: bytes) -> int:
    """Sum of ``data`` modulo 256 (DL/T 645 and CJ/T 188 use the same byte-sum checksum)."""
    return sum(data) & 0xFF


def add33(data: bytes) -> bytes:
    """DL/T 645 data-field scrambling for sending: every byte +0x33 modulo 256."""
    return bytes((b + 0x33) & 0xFF for b in data)


def sub33(data: bytes) -> bytes:
    """DL/T 645 data-field unscrambling after receiving: every byte −0x33 modulo 256."""
    return bytes((b - 0x33) & 0xFF for b in data)


def is_bcd(byte: int) -> bool:
    return (byte >> 4) <= 9 and (byte & 0x0F) <= 9


def bcd_to_int(byte: int) -> int:
    """One packed BCD byte (0x00..0x99) to 0..99."""
    if not is_bcd(byte):
        raise ProtocolError("bcd", f"byte {byte:02X} is not BCD", byte=byte)
    return (byte >> 4) * 10 + (byte & 0x0F)


def int_to_bcd(value: int) -> int:
    """0..99 to one packed BCD byte."""
    if not 0 <= value <= 99:
        raise EncodeError(f"{value} does not fit one BCD byte", value=value)
    return (value // 10) << 4 | value % 10


def digits_le(data: bytes) -> str:
    """Little-endian BCD bytes to a digit string, most significant digit first (``34 12`` → ``"1234"``)."""
    for b in data:
        if not is_bcd(b):
            raise ProtocolError("bcd", f"byte {b:02X} is not BCD", byte=b)
    return data[::-1].hex()


def from_digits_le(digits: str, length: int) -> bytes:
    """A decimal digit string (at most ``2*length`` digits, left-padded with 0) to little-endian BCD."""
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 2 * length:
        raise EncodeError(f"{digits!r} is not at most {2 * length} decimal digits", digits=digits)
    return bytes.fromhex(digits.rjust(2 * length, "0"))[::-1]


def uint_le(value: int, length: int) -> bytes:
    """A non-negative integer as ``length`` little-endian BCD bytes."""
    if value < 0 or value >= 10 ** (2 * length):
        raise EncodeError(f"{value} does not fit {2 * length} BCD digits", value=value)
    return from_digits_le(str(value), length)


def le_uint(data: bytes) -> int:
    """Little-endian BCD bytes to a non-negative integer."""
    return int(digits_le(data)) if data else 0
