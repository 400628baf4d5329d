"""IC-card images for virtual meters, behind one small interface: :func:`load_card`.

A card carries one purchase for one meter, numbered by the meter's purchase sequence: the meter
loads it when the sequence is newer than the last one it loaded, and refuses it (``used``) after.

Card decoding is pluggable (``VirtualMeter.card_verifier``): a callable ``(image, last_sequence) ->
(sequence, units)`` raising :class:`CardRefused`. :func:`platform_verifier` checks the very images
the counter writes (``prepay.domain.cards``, with the meter's card key); meters bound to the
database use it. Free-standing virtual meters use the simulator's own format (:func:`sim_card_image`:
``PPSIM1`` + JSON {serial, seq, units} + HMAC-SHA256).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

MAGIC = b"PPSIM1"

#: checks a card image against the last sequence loaded: ``(image, last_sequence) -> (sequence, units)``
CardVerifier = Callable[[bytes, int], tuple[int, Decimal]]


@dataclass
class CardOutcome:
    accepted: bool
    code: str
    amount: Decimal | None = None
    sequence: int | None = None


class CardSlot(Protocol):
    """What a meter offers a card (:class:`prepay.simulator.meter.VirtualMeter` is one)."""

    serial: str
    card_sequence: int
    card_verifier: CardVerifier | None

    def add_credit(self, amount: Decimal, source: str) -> None: ...


class CardRefused(Exception):
    def __init__(self, code: str, message: str = "") -> None:
        self.code = code
        super().__init__(message or code)


def _sim_key(serial: str, secret: bytes) -> bytes:
    return hmac.new(secret, serial.encode(), hashlib.sha256).digest()


def sim_card_image(serial: str, sequence: int, units: Decimal, *, secret: bytes = b"prepay-sim") -> bytes:
    """A simulator card image for meter ``serial`` (purchase ``sequence`` of ``units``)."""
    body = json.dumps({"serial": serial, "seq": sequence, "units": str(units)}, sort_keys=True).encode()
    return MAGIC + body + hmac.new(_sim_key(serial, secret), body, hashlib.sha256).digest()


def sim_verifier(serial: str, *, secret: bytes = b"prepay-sim") -> CardVerifier:
    """Verifier for :func:`sim_card_image` images of meter ``serial``."""

    def verify(image: bytes, last_sequence: int) -> tuple[int, Decimal]:
        if not image.startswith(MAGIC) or len(image) < len(MAGIC) + 32 + 2:
            raise CardRefused("format", "not a card image")
        body, mac = image[len(MAGIC) : -32], image[-32:]
        if not hmac.compare_digest(mac, hmac.new(_sim_key(serial, secret), body, hashlib.sha256).digest()):
            raise CardRefused("mac", "the card is not for this meter or was altered")
        try:
            data = json.loads(body)
            seq, units = int(data["seq"]), Decimal(str(data["units"]))
        except (ValueError, KeyError, TypeError, InvalidOperation):
            raise CardRefused("format", "unreadable card") from None
        if data.get("serial") != serial:
            raise CardRefused("wrong_meter", "the card belongs to another meter")
        if seq <= last_sequence:
            raise CardRefused("used", "this purchase was already loaded")
        if not units.is_finite() or units <= 0:
            raise CardRefused("format", "no credit on the card")
        return seq, units

    return verify


def platform_verifier(meter: Any) -> CardVerifier:
    """A verifier for the images the counter writes for ``meter`` (the format of
    :mod:`prepay.domain.cards`, sealed with the meter's card key from the key store): the key is
    derived now, at binding, so insertion never touches the database."""
    from django.db import transaction

    from prepay.domain.cards import CardError, read_card_image
    from prepay.tokens.keystore import get_keystore

    with transaction.atomic():
        key = get_keystore().card_key(meter.group_id, meter.serial)
    serial = meter.serial

    def verify(image: bytes, last_sequence: int) -> tuple[int, Decimal]:
        try:
            credit = read_card_image(key, image, serial=serial, last_sequence=last_sequence)
        except CardError as exc:
            code = {"already_loaded": "used", "bad_mac": "mac", "malformed": "format"}.get(exc.code, exc.code)
            raise CardRefused(code, str(exc)) from None
        return credit.sequence, credit.units

    return verify


def load_card(meter_state: CardSlot, image: bytes) -> CardOutcome:
    """Check ``image`` with the meter's verifier and load its credit once. Never raises for bad cards."""
    verifier = meter_state.card_verifier or sim_verifier(meter_state.serial)
    try:
        sequence, units = verifier(bytes(image), meter_state.card_sequence)
    except CardRefused as exc:
        return CardOutcome(False, exc.code)
    if sequence <= meter_state.card_sequence:
        return CardOutcome(False, "used", sequence=sequence)
    meter_state.card_sequence = sequence
    meter_state.add_credit(units, "card")
    return CardOutcome(True, "accepted", units, sequence)
