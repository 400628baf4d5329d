"""IC-card images for card meters: the key of a meter's card and the image a vend writes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from prepay.domain.cards import CardCredit, build_card_image, read_card_image
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
