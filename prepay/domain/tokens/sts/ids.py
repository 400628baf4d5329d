"""Identification numbers: Luhn check digits, DRN/IAIN and the 18-digit meter PAN.

* DRN / IAIN: 11 digits (2-digit manufacturer code + 8-digit serial + Luhn digit) or
  13 digits (4-digit manufacturer code + 8-digit serial + Luhn digit).
* Meter PAN: IIN (``600727`` with 11-digit IAINs, ``0000`` with 13-digit IAINs) + IAIN + Luhn
  digit over the first 17 digits, 18 digits in total.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidInputError, LuhnError

IIN_6 = "600727"
IIN_4 = "0000"


def luhn_check_digit(digits: str) -> int:
    """Return the Luhn check digit to append to ``digits`` (a non-empty string of 0-9)."""
    if not digits or not digits.isdigit() or not digits.isascii():
        raise InvalidInputError("Luhn input must be a non-empty string of decimal digits")
    total = 0
    # Walking from the right, the digit next to the (future) check digit is doubled.
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def luhn_valid(number: str) -> bool:
    """True when the last digit of ``number`` is the Luhn check digit of the rest."""
    if len(number) < 2 or not number.isdigit() or not number.isascii():
        return False
    return luhn_check_digit(number[:-1]) == ord(number[-1]) - 48


def _digits(value: str, name: str) -> str:
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        raise InvalidInputError(f"{name} must be a string of decimal digits")
    return value


@dataclass(frozen=True, slots=True)
class Iain:
    """An 11- or 13-digit DRN/IAIN with a valid Luhn check digit."""

    value: str

    def __post_init__(self) -> None:
        _digits(self.value, "IAIN")
        if len(self.value) not in (11, 13):
            raise InvalidInputError("IAIN/DRN must have 11 or 13 digits")
        if not luhn_valid(self.value):
            raise LuhnError(f"IAIN/DRN {self.value} fails its Luhn check digit")

    @property
    def manufacturer_code(self) -> int:
        """The 2- or 4-digit manufacturer code at the start of the IAIN."""
        return int(self.value[: 2 if len(self.value) == 11 else 4])

    @property
    def serial(self) -> str:
        """The 8-digit decoder serial number."""
        return self.value[-9:-1]

    @classmethod
    def build(cls, manufacturer_code: str, serial: str) -> Iain:
        """Build an IAIN from a 2/4-digit manufacturer code and an 8-digit serial number."""
        _digits(manufacturer_code, "manufacturer code")
        _digits(serial, "serial")
        if len(manufacturer_code) not in (2, 4) or len(serial) != 8:
            raise InvalidInputError("manufacturer code must have 2 or 4 digits and serial 8 digits")
        body = manufacturer_code + serial
        return cls(body + str(luhn_check_digit(body)))


@dataclass(frozen=True, slots=True)
class MeterPan:
    """An 18-digit meter primary account number: IIN + IAIN + Luhn digit."""

    value: str

    def __post_init__(self) -> None:
        _digits(self.value, "meter PAN")
        if len(self.value) != 18:
            raise InvalidInputError("meter PAN must have 18 digits")
        if not luhn_valid(self.value):
            raise LuhnError(f"meter PAN {self.value} fails its Luhn check digit")

    @property
    def iin(self) -> str:
        """``600727`` for 11-digit IAINs, ``0000`` for 13-digit IAINs."""
        return IIN_6 if self.value.startswith(IIN_6) else IIN_4

    @property
    def iain(self) -> str:
        """The IAIN/DRN part (digits between the IIN and the PAN check digit)."""
        return self.value[len(self.iin) : 17]

    @classmethod
    def from_iain(cls, iain: str) -> MeterPan:
        """Build the PAN for an 11-digit (IIN 600727) or 13-digit (IIN 0000) IAIN."""
        checked = Iain(iain).value
        body = (IIN_6 if len(checked) == 11 else IIN_4) + checked
        return cls(body + str(luhn_check_digit(body)))

    def pan_block(self, key_type: int) -> int:
        """The DKGA02 PANBlock: PAN digits 2..17 read as 16 hex nibbles.

        For key type 3 (common key) the IAIN digits are replaced by zeros, as S1 does.
        """
        digits = self.value[1:17]
        if key_type == 3:
            keep = len(self.iin) - 1
            digits = digits[:keep] + "0" * (16 - keep)
        return int(digits, 16)


def parse_pan(value: str) -> MeterPan:
    """Accept an 18-digit PAN or an 11/13-digit IAIN and return the checked :class:`MeterPan`."""
    _digits(value, "meter number")
    if len(value) == 18:
        return MeterPan(value)
    if len(value) in (11, 13):
        return MeterPan.from_iain(value)
    raise InvalidInputError("meter number must be an 18-digit PAN or an 11/13-digit IAIN/DRN")
