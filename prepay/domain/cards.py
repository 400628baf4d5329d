"""IC-card purchase images (pure): what the counter writes on a card meter's card and what the meter
checks before loading it.

An image is bound to one meter (its serial and a per-meter key), numbered by the meter's purchase
sequence so it loads exactly once, and sealed with a MAC (HMAC-SHA256, first 8 bytes)::

    "PC" | version 1 | serial length | serial (ASCII) | sequence u32 | units×10 u32 | YYYYMMDD u32 | MAC(8)

Units are register units at 0.1 resolution (what the meter's credit register takes).
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

MAGIC = b"PC"
VERSION = 1
MAC_LEN = 8
MAX_UNITS = Decimal("429496729.5")


class CardError(ValueError):
    """A card the meter must refuse. ``code``: malformed, bad_mac, wrong_meter, already_loaded."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class CardCredit:
    serial: str
    sequence: int
    units: Decimal
    issued: date


def _mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()[:MAC_LEN]


def build_card_image(key: bytes, *, serial: str, sequence: int, units: Decimal, issued: date) -> bytes:
    """The sealed image for ``units`` (0.1 resolution, > 0) as purchase ``sequence`` (≥ 1) of ``serial``."""
    raw_serial = serial.encode("ascii")
    if not 1 <= len(raw_serial) <= 32:
        raise CardError("malformed", "the serial must be 1 to 32 ASCII characters")
    if (
        not isinstance(units, Decimal)
        or units <= 0
        or units > MAX_UNITS
        or units != units.quantize(Decimal("0.1"))
    ):
        raise CardError("malformed", f"units must be positive with at most one decimal, not {units}")
    if not 1 <= sequence <= 0xFFFFFFFF:
        raise CardError("malformed", f"sequence out of range: {sequence}")
    body = (
        MAGIC
        + bytes([VERSION, len(raw_serial)])
        + raw_serial
        + struct.pack(
            ">III", sequence, int(units * 10), issued.year * 10000 + issued.month * 100 + issued.day
        )
    )
    return body + _mac(key, body)


def read_card_image(key: bytes, image: bytes, *, serial: str, last_sequence: int) -> CardCredit:
    """What a meter does with an inserted card: check format, owner, MAC and sequence.

    Raises ``CardError`` for anything it must refuse; a valid image whose sequence is not above
    ``last_sequence`` is ``already_loaded`` (the same card inserted twice loads once).
    """
    if not isinstance(image, bytes | bytearray) or len(image) < 4 + 12 + MAC_LEN or image[:2] != MAGIC:
        raise CardError("malformed", "not a purchase card image")
    if image[2] != VERSION:
        raise CardError("malformed", f"unknown card image version {image[2]}")
    n = image[3]
    if len(image) != 4 + n + 12 + MAC_LEN:
        raise CardError("malformed", "card image has the wrong length")
    body, mac = bytes(image[:-MAC_LEN]), bytes(image[-MAC_LEN:])
    try:
        card_serial = body[4 : 4 + n].decode("ascii")
    except UnicodeDecodeError:
        raise CardError("malformed", "card serial is not ASCII") from None
    if card_serial != serial:
        raise CardError("wrong_meter", f"card belongs to meter {card_serial}")
    if not hmac.compare_digest(mac, _mac(key, body)):
        raise CardError("bad_mac", "card image MAC does not verify")
    sequence, tenths, ymd = struct.unpack(">III", body[4 + n :])
    if sequence <= last_sequence:
        raise CardError("already_loaded", f"purchase {sequence} was already loaded")
    try:
        issued = date(ymd // 10000, ymd // 100 % 100, ymd % 100)
    except ValueError:
        raise CardError("malformed", "card issue date is invalid") from None
    return CardCredit(serial=card_serial, sequence=sequence, units=Decimal(tenths) / 10, issued=issued)
