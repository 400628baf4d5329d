"""DL/T 645 link layer (2007 and 1997 share it).

::

    [FE FE FE FE] 68 A0..A5 68 C L DATA(L bytes, each +0x33) CS 16

``CS`` is the byte sum of 68..DATA (the preamble excluded). The address is 12 BCD digits sent low
byte first; a byte may also be ``AA`` (wildcard). :class:`Frame` holds the data field already
unscrambled (−0x33).
"""

from __future__ import annotations

from dataclasses import dataclass

from prepay.domain.protocols.bcd import add33, checksum, is_bcd, sub33
from prepay.domain.protocols.errors import EncodeError, ProtocolError
from prepay.domain.protocols.stream import StreamReader

START = 0x68
END = 0x16
PREAMBLE = b"\xfe\xfe\xfe\xfe"
WILDCARD_ADDRESS = "AAAAAAAAAAAA"
BROADCAST_ADDRESS = "999999999999"
MAX_DATA = 255  # L is one byte; the standard limits reads to 200 and writes to 50, meters vary
_HEADER = 10  # 68 + 6 address + 68 + C + L


def normalize_address(address: str) -> str:
    """Validate a 12-character address: each pair of characters is two decimal digits or ``AA``.

    Shorter all-digit addresses are left-padded with 0. Returns the upper-case form.
    """
    a = address.upper()
    if a.isascii() and a.isdigit() and len(a) < 12:
        a = a.rjust(12, "0")
    if len(a) != 12 or not all(
        a[i : i + 2] == "AA" or (a[i : i + 2].isascii() and a[i : i + 2].isdigit()) for i in range(0, 12, 2)
    ):
        raise EncodeError(f"address {address!r} is not 12 BCD digits (or AA wildcards)", address=address)
    return a


def address_to_wire(address: str) -> bytes:
    """``"558890213594"`` → ``94 35 21 90 88 55`` (low byte first)."""
    return bytes.fromhex(normalize_address(address))[::-1]


def address_from_wire(raw: bytes) -> str:
    """Inverse of :func:`address_to_wire`; raises ``ProtocolError("bad_address")``."""
    if len(raw) != 6:
        raise ProtocolError("truncated", "address needs 6 bytes")
    if not all(b == 0xAA or is_bcd(b) for b in raw):
        raise ProtocolError("bad_address", f"address bytes {raw.hex(' ')} are not BCD")
    return raw[::-1].hex().upper()


@dataclass(frozen=True, slots=True)
class Frame:
    """One DL/T 645 frame. ``data`` is the plain data field (−0x33 already applied)."""

    address: str
    control: int
    data: bytes = b""

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", normalize_address(self.address))
        if not 0 <= self.control <= 0xFF:
            raise EncodeError(f"control {self.control} is not a byte")
        if len(self.data) > MAX_DATA:
            raise EncodeError(f"data field of {len(self.data)} bytes exceeds {MAX_DATA}")


def encode_frame(frame: Frame, preamble: bool = True) -> bytes:
    """Frame → wire bytes, with 4×FE in front unless ``preamble`` is false."""
    body = (
        bytes([START])
        + address_to_wire(frame.address)
        + bytes([START, frame.control, len(frame.data)])
        + add33(frame.data)
    )
    return (PREAMBLE if preamble else b"") + body + bytes([checksum(body), END])


def _parse_at(buf: bytes | bytearray, i: int) -> tuple[Frame, int]:
    """Parse one frame whose 0x68 is at ``buf[i]``; returns the frame and the index after it.

    Raises ProtocolError; ``truncated`` means more bytes could complete it.
    """
    n = len(buf)
    if n - i < 1:
        raise ProtocolError("truncated", "empty input")
    if buf[i] != START:
        raise ProtocolError("bad_start", f"expected 68, got {buf[i]:02X}")
    if n - i < 8:
        raise ProtocolError("truncated", "header incomplete")
    if buf[i + 7] != START:
        raise ProtocolError("bad_start", f"second 68 missing (got {buf[i + 7]:02X})")
    address = address_from_wire(bytes(buf[i + 1 : i + 7]))
    if n - i < _HEADER:
        raise ProtocolError("truncated", "header incomplete")
    length = buf[i + 9]
    end = i + _HEADER + length + 2
    if n < end:
        raise ProtocolError("truncated", f"frame needs {end - i} bytes, have {n - i}")
    cs = checksum(bytes(buf[i : end - 2]))
    if buf[end - 2] != cs:
        raise ProtocolError("checksum", f"checksum {buf[end - 2]:02X}, computed {cs:02X}")
    if buf[end - 1] != END:
        raise ProtocolError("bad_end", f"expected 16, got {buf[end - 1]:02X}")
    data = sub33(bytes(buf[i + _HEADER : end - 2]))
    return Frame(address, buf[i + 8], data), end


def decode_frame(raw: bytes) -> Frame:
    """Exactly one frame (any number of leading FE allowed) → :class:`Frame`.

    Raises ProtocolError: truncated, bad_start, bad_address, checksum, bad_end, trailing.
    """
    i = 0
    while i < len(raw) and raw[i] == 0xFE:
        i += 1
    frame, end = _parse_at(raw, i)
    if end != len(raw):
        raise ProtocolError("trailing", f"{len(raw) - end} bytes after the frame")
    return frame


class FrameReader(StreamReader[Frame]):
    """Incremental decoder for a byte stream (serial line, TCP, MQTT pass-through).

    :meth:`feed` returns the frames completed by the new bytes. Anything that is not a valid frame
    (FE preambles, line noise, frames with a bad checksum or end byte) is skipped one byte at a time
    until the next ``68 ..(6).. 68`` that yields a valid frame, so one corrupt frame never hides the
    next. ``discarded`` counts skipped bytes (FE included), ``rejected`` counts candidate frames
    dropped for a bad checksum / end byte / address. An incomplete candidate is waited for, unless a
    complete valid frame already follows it in the buffer (a half frame, then a whole one): then the
    half frame is dropped. Transports should call :meth:`reset` after a silence longer than their
    reply timeout, so a stray ``68`` can never hold the stream back.
    """

    def __init__(self) -> None:
        super().__init__(_parse_at, START)
