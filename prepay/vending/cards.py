"""IC-card images for card meters: the key of a meter's card and the image a vend writes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from prepay.domain.cards import (
    MAC_LEN,
    MAGIC,
    VERSION,
    CardCredit,
    CardError,
    build_card_image,
    read_card_image,
)
from prepay.tokens.keystore import get_keystore


def card_key_for(meter: Any) -> bytes:
    """The meter's card key (derived from its group's encrypted card master key)."""
    return get_keystore().card_key(meter.group_id, meter.serial)


def card_image_for(meter: Any, *, sequence: int, units: Decimal, issued: date) -> bytes:
    return build_card_image(
        card_key_for(meter), serial=meter.serial, sequence=sequence, units=units, issued=issued
    )


def verify_card_image(meter: Any, image: bytes, *, last_sequence: int) -> CardCredit:
    """What the meter checks on insertion (used by the simulator): raises ``CardError`` to refuse."""
    return read_card_image(card_key_for(meter), image, serial=meter.serial, last_sequence=last_sequence)


def peek_serial(image: bytes) -> str:
    """The meter serial an image names, read without its key (to find the meter whose key then
    checks the MAC with :func:`verify_card_image`). Raises ``CardError("malformed")``."""
    if len(image) < 4 + 12 + MAC_LEN or image[:2] != MAGIC or image[2] != VERSION:
        raise CardError("malformed", "not a purchase card image")
    n = image[3]
    if len(image) != 4 + n + 12 + MAC_LEN:
        raise CardError("malformed", "card image has the wrong length")
    try:
        return image[4 : 4 + n].decode("ascii")
    except UnicodeDecodeError:
        raise CardError("malformed", "card serial is not ASCII") from None
