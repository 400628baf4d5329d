"""Token structures of classes 0, 1 and 2 and the 66-bit / 20-digit transport form.

A token is 2 class bits + a 64-bit data block (bit 63 = MSB)::

    subclass (4) ∥ 44 bits that depend on the kind ∥ CRC (16)

The CRC covers ``class ∥ upper 48 block bits``; currency credit uses CRC_C.  Classes 0 and 2
are encrypted (EA07 or EA09), class 1 travels in clear.  The class bits are spliced into block
bits 28/27 after encryption and the displaced bits go to bits 65/64 of the 66-bit number, which
is written as 20 decimal digits.

Every dataclass here is immutable, validates its fields on construction (raising
:class:`InvalidInputError` / :class:`OutOfRangeError`) and provides ``payload()`` (the 44 bits
below the subclass) and ``from_payload()``; :func:`build_block` / :func:`parse_block` add the
subclass and CRC.  Amounts given with more precision than the field are rounded in the
customer's favour by :mod:`.amount`, so ``parse_block(build_block(t))`` returns the *encoded*
value, which equals the input whenever the input is representable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Protocol

from . import amount as amt
from .crc import crc_c_field, crc_field
from .errors import CrcError, InvalidInputError, OutOfRangeError, TokenFormatError
from .tid import check_tid, datetime_from_tid

MASK64 = (1 << 64) - 1
TOKEN_MAX = (1 << 66) - 1
_B28 = 1 << 28
_B27 = 1 << 27
_CLEAR_2827 = MASK64 ^ (_B28 | _B27)


def _check_int(value: object, lo: int, hi: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{what} must be an integer")
    if not lo <= value <= hi:
        raise OutOfRangeError(f"{what} must be between {lo} and {hi}")
    return value


# --------------------------------------------------------------------------- transport form


def transpose(block: int, token_class: int) -> int:
    """66-bit token number from a (possibly encrypted) 64-bit block and the class."""
    return ((block >> 28) & 1) << 65 | ((block >> 27) & 1) << 64 | (block & _CLEAR_2827) | (token_class << 27)


def untranspose(number: int) -> tuple[int, int]:
    """Inverse of :func:`transpose`: returns ``(token_class, block)``."""
    token_class = (number >> 27) & 3
    block = (number & _CLEAR_2827) | ((number >> 65) & 1) << 28 | ((number >> 64) & 1) << 27
    return token_class, block


def format_token(number: int) -> str:
    """20-digit token string (zero padded) of a 66-bit token number."""
    return f"{number:020d}"


def group_token(token: str) -> str:
    """Human form: five groups of four digits separated by spaces."""
    return " ".join(token[i : i + 4] for i in range(0, 20, 4))


def parse_token_number(token: str) -> int:
    """Parse 20 digits (spaces and dashes allowed) into the 66-bit token number."""
    if not isinstance(token, str):
        raise TokenFormatError("token must be a string of 20 digits")
    text = token.replace(" ", "").replace("-", "")
    if len(text) != 20 or not text.isdigit() or not text.isascii():
        raise TokenFormatError("token must have exactly 20 decimal digits")
    number = int(text)
    if number > TOKEN_MAX:
        raise TokenFormatError("token value is not below 2**66")
    return number


# --------------------------------------------------------------------------- token kinds


class StsToken(Protocol):
    """What every token dataclass provides."""

    token_class: ClassVar[int]
    currency: ClassVar[bool]

    @property
    def subclass(self) -> int: ...

    def payload(self) -> int: ...


def _tid_rnd(tid: int, rnd: int) -> None:
    check_tid(tid)
    _check_int(rnd, 0, 15, "RND")


@dataclass(frozen=True, slots=True)
class _TidToken:
    """Common layout ``RND (4) ∥ TID (24) ∥ field (16)`` of credit and management tokens."""

    tid: int
    rnd: int

    def issued_at(self, base_date: int = 1993) -> datetime:
        """Issue time encoded by the TID for the given base date."""
        return datetime_from_tid(self.tid, base_date)


@dataclass(frozen=True, slots=True)
class StandardCreditToken(_TidToken):
    """Class 0, subclasses 0..3: credit in 0.1 units (kWh, m³, gas unit, time unit).

    ``amount`` is in whole units (e.g. ``Decimal("25.6")`` kWh); max 1 820 162.4.
    """

    amount: Decimal
    subclass: int = 0
    token_class: ClassVar[int] = 0
    currency: ClassVar[bool] = False

    def __post_init__(self) -> None:
        _tid_rnd(self.tid, self.rnd)
        _check_int(self.subclass, 0, 3, "credit subclass")
        amt.encode_standard_amount(self.amount)  # validates range / type

    def payload(self) -> int:
        return self.rnd << 40 | self.tid << 16 | amt.encode_standard_amount(self.amount)

    @classmethod
    def from_payload(cls, subclass: int, payload: int) -> StandardCreditToken:
        return cls(
            tid=(payload >> 16) & 0xFFFFFF,
            rnd=payload >> 40,
            amount=amt.decode_standard_amount(payload & 0xFFFF),
            subclass=subclass,
        )


@dataclass(frozen=True, slots=True)
class CurrencyCreditToken:
    """Class 0, subclasses 4..7: signed currency credit (resolution 10^-5), CRC_C, no RND."""

    tid: int
    amount: Decimal
    subclass: int = 4
    token_class: ClassVar[int] = 0
    currency: ClassVar[bool] = True

    def __post_init__(self) -> None:
        check_tid(self.tid)
        _check_int(self.subclass, 4, 7, "currency subclass")
        amt.encode_currency(self.amount)

    def issued_at(self, base_date: int = 1993) -> datetime:
        """Issue time encoded by the TID for the given base date."""
        return datetime_from_tid(self.tid, base_date)

    def payload(self) -> int:
        nibble, field = amt.encode_currency(self.amount)
        return nibble << 40 | self.tid << 16 | field

    @classmethod
    def from_payload(cls, subclass: int, payload: int) -> CurrencyCreditToken:
        return cls(
            tid=(payload >> 16) & 0xFFFFFF,
            amount=amt.decode_currency(payload >> 40, payload & 0xFFFF),
            subclass=subclass,
        )


@dataclass(frozen=True, slots=True)
class MeterTestToken:
    """Class 1 InitiateMeterTest/Display (not encrypted, key independent).

    Subclass 0: control 36 bits, manufacturer code 8 bits (2-digit codes).
    Subclass 1: control 28 bits, manufacturer code 16 bits (4-digit codes).
    """

    control: int
    manufacturer_code: int = 0
    subclass: int = 0
    token_class: ClassVar[int] = 1
    currency: ClassVar[bool] = False

    def __post_init__(self) -> None:
        _check_int(self.subclass, 0, 1, "test token subclass")
        wide = self.subclass == 1
        _check_int(self.control, 0, (1 << (28 if wide else 36)) - 1, "control field")
        _check_int(self.manufacturer_code, 0, 0xFFFF if wide else 0xFF, "manufacturer code")

    def payload(self) -> int:
        return self.control << (16 if self.subclass == 1 else 8) | self.manufacturer_code

    @classmethod
    def from_payload(cls, subclass: int, payload: int) -> MeterTestToken:
        if subclass == 1:
            return cls(payload >> 16, payload & 0xFFFF, 1)
        return cls(payload >> 8, payload & 0xFF, 0)


@dataclass(frozen=True, slots=True)
class _Class2Field(_TidToken):
    """Class 2 management token with a 16-bit raw field (subclasses 1, 2, 5, 7)."""

    value: int
    token_class: ClassVar[int] = 2
    currency: ClassVar[bool] = False
    SUBCLASS: ClassVar[int] = -1

    def __post_init__(self) -> None:
        _tid_rnd(self.tid, self.rnd)
        self._check_value()

    def _check_value(self) -> None:
        _check_int(self.value, 0, 0xFFFF, "value")

    @property
    def subclass(self) -> int:
        return self.SUBCLASS

    def _field(self) -> int:
        return self.value

    def payload(self) -> int:
        return self.rnd << 40 | self.tid << 16 | self._field()


@dataclass(frozen=True, slots=True)
class SetMaxPowerLimitToken(_Class2Field):
    """Class 2/0: maximum power limit in watts (standard exponent/mantissa, rounded up)."""

    SUBCLASS: ClassVar[int] = 0

    def _check_value(self) -> None:
        _check_int(self.value, 0, amt.STANDARD_MAX_UNITS, "power limit (W)")

    def _field(self) -> int:
        return amt.encode_standard_units(self.value)


@dataclass(frozen=True, slots=True)
class ClearCreditToken(_Class2Field):
    """Class 2/1: clear a credit register (0..7, or 0xFFFF for all registers)."""

    SUBCLASS: ClassVar[int] = 1

    def _check_value(self) -> None:
        if self.value != 0xFFFF:
            _check_int(self.value, 0, 7, "register (0..7 or 65535)")


@dataclass(frozen=True, slots=True)
class SetTariffRateToken(_Class2Field):
    """Class 2/2: 16-bit tariff rate (format not verified by any vector: raw 16 bits)."""

    SUBCLASS: ClassVar[int] = 2


@dataclass(frozen=True, slots=True)
class ClearTamperToken(_Class2Field):
    """Class 2/5: clear tamper condition; the 16-bit pad must be 0."""

    SUBCLASS: ClassVar[int] = 5

    def _check_value(self) -> None:
        _check_int(self.value, 0, 0, "clear tamper pad")


@dataclass(frozen=True, slots=True)
class SetMaxPhasePowerUnbalanceLimitToken(SetMaxPowerLimitToken):
    """Class 2/6: maximum phase power unbalance limit in watts (as 2/0)."""

    SUBCLASS: ClassVar[int] = 6


@dataclass(frozen=True, slots=True)
class SetWaterMeterFactorToken(_Class2Field):
    """Class 2/7: water meter factor, raw 16 bits (unverified format)."""

    SUBCLASS: ClassVar[int] = 7


@dataclass(frozen=True, slots=True)
class Set1stSectionDecoderKeyToken:
    """Class 2/3 (KCT-1): KENHO ∥ KRN ∥ RO ∥ 3KCT ∥ KT ∥ NKHO (upper 32 bits of the new key)."""

    ken_high: int
    key_revision: int
    rollover: bool
    third_token: bool
    key_type: int
    key_high: int
    token_class: ClassVar[int] = 2
    currency: ClassVar[bool] = False
    subclass: ClassVar[int] = 3

    def __post_init__(self) -> None:
        _check_int(self.ken_high, 0, 15, "KEN high nibble")
        _check_int(self.key_revision, 0, 15, "key revision number")
        _check_int(self.key_type, 0, 3, "key type")
        _check_int(self.key_high, 0, 0xFFFFFFFF, "new key high half")
        if not isinstance(self.rollover, bool) or not isinstance(self.third_token, bool):
            raise InvalidInputError("rollover and third_token must be booleans")

    def __repr__(self) -> str:
        return (
            f"Set1stSectionDecoderKeyToken(ken_high={self.ken_high}, key_revision={self.key_revision}, "
            f"rollover={self.rollover}, third_token={self.third_token}, key_type={self.key_type}, "
            "key_high=<redacted>)"
        )

    def payload(self) -> int:
        return (
            self.ken_high << 40
            | self.key_revision << 36
            | int(self.rollover) << 35
            | int(self.third_token) << 34
            | self.key_type << 32
            | self.key_high
        )

    @classmethod
    def from_payload(cls, subclass: int, payload: int) -> Set1stSectionDecoderKeyToken:
        return cls(
            ken_high=payload >> 40,
            key_revision=(payload >> 36) & 15,
            rollover=bool((payload >> 35) & 1),
            third_token=bool((payload >> 34) & 1),
            key_type=(payload >> 32) & 3,
            key_high=payload & 0xFFFFFFFF,
        )


@dataclass(frozen=True, slots=True)
class Set2ndSectionDecoderKeyToken:
    """Class 2/4 (KCT-2): KENLO ∥ TI (8-bit binary) ∥ NKLO (lower 32 bits of the new key)."""

    ken_low: int
    tariff_index: int
    key_low: int
    token_class: ClassVar[int] = 2
    currency: ClassVar[bool] = False
    subclass: ClassVar[int] = 4

    def __post_init__(self) -> None:
        _check_int(self.ken_low, 0, 15, "KEN low nibble")
        _check_int(self.tariff_index, 0, 255, "tariff index")
        _check_int(self.key_low, 0, 0xFFFFFFFF, "new key low half")

    def __repr__(self) -> str:
        return (
            f"Set2ndSectionDecoderKeyToken(ken_low={self.ken_low}, tariff_index={self.tariff_index}, "
            "key_low=<redacted>)"
        )

    def payload(self) -> int:
        return self.ken_low << 40 | self.tariff_index << 32 | self.key_low

    @classmethod
    def from_payload(cls, subclass: int, payload: int) -> Set2ndSectionDecoderKeyToken:
        return cls(payload >> 40, (payload >> 32) & 0xFF, payload & 0xFFFFFFFF)


@dataclass(frozen=True, slots=True)
class Set3rdSectionDecoderKeyToken:
    """Class 2/8 (third KCT, STS 531-1-07): SGC as 24-bit binary in bits 59..36, rest zero.

    Layout inferred from a single public vector (spec §8, unverified beyond it).
    """

    supply_group_code: int
    token_class: ClassVar[int] = 2
    currency: ClassVar[bool] = False
    subclass: ClassVar[int] = 8

    def __post_init__(self) -> None:
        _check_int(self.supply_group_code, 0, 999999, "supply group code")

    def payload(self) -> int:
        return self.supply_group_code << 20

    @classmethod
    def from_payload(cls, subclass: int, payload: int) -> Set3rdSectionDecoderKeyToken:
        if payload & 0xFFFFF:
            raise OutOfRangeError("third key change token has non-zero reserved bits")
        return cls(payload >> 20)


@dataclass(frozen=True, slots=True)
class RawToken:
    """A structurally valid token of a class/subclass this engine does not interpret.

    Used when decoding e.g. class 2 subclass 9..15 (MISTY1 4th key section, STS 202-5
    extended token set) or class 3; ``payload`` holds the 44 bits below the subclass.
    """

    raw_class: int
    raw_subclass: int
    raw_payload: int
    currency: ClassVar[bool] = False

    @property
    def subclass(self) -> int:
        return self.raw_subclass

    def payload(self) -> int:
        return self.raw_payload


Token = (
    StandardCreditToken
    | CurrencyCreditToken
    | MeterTestToken
    | SetMaxPowerLimitToken
    | ClearCreditToken
    | SetTariffRateToken
    | ClearTamperToken
    | SetMaxPhasePowerUnbalanceLimitToken
    | SetWaterMeterFactorToken
    | Set1stSectionDecoderKeyToken
    | Set2ndSectionDecoderKeyToken
    | Set3rdSectionDecoderKeyToken
    | RawToken
)

ManagementToken = (
    SetMaxPowerLimitToken
    | ClearCreditToken
    | SetTariffRateToken
    | ClearTamperToken
    | SetMaxPhasePowerUnbalanceLimitToken
    | SetWaterMeterFactorToken
)

MANAGEMENT_KINDS: dict[int, type[ManagementToken]] = {
    0: SetMaxPowerLimitToken,
    1: ClearCreditToken,
    2: SetTariffRateToken,
    5: ClearTamperToken,
    6: SetMaxPhasePowerUnbalanceLimitToken,
    7: SetWaterMeterFactorToken,
}


def token_class_of(token: Token) -> int:
    """The 2-bit class of a token object."""
    return token.raw_class if isinstance(token, RawToken) else token.token_class


def build_block(token: Token) -> int:
    """Plain 64-bit data block (subclass ∥ payload ∥ CRC or CRC_C) of a token."""
    cls = token_class_of(token)
    upper = token.subclass << 44 | token.payload()
    crc = crc_c_field(cls, upper) if token.currency else crc_field(cls, upper)
    return upper << 16 | crc


def parse_block(token_class: int, block: int) -> Token:
    """Check the CRC of a plain block and build the matching token object.

    Raises :class:`CrcError` on CRC mismatch and :class:`OutOfRangeError` for fields a valid
    token of that kind cannot carry.
    """
    upper = block >> 16
    subclass = upper >> 44
    payload = upper & ((1 << 44) - 1)
    currency = token_class == 0 and 4 <= subclass <= 7
    crc = crc_c_field(token_class, upper) if currency else crc_field(token_class, upper)
    if crc != block & 0xFFFF:
        raise CrcError("token CRC check failed (wrong decoder key or mistyped digits)")
    if token_class == 0:
        if subclass <= 3:
            return StandardCreditToken.from_payload(subclass, payload)
        if subclass <= 7:
            return CurrencyCreditToken.from_payload(subclass, payload)
    elif token_class == 1 and subclass <= 1:
        return MeterTestToken.from_payload(subclass, payload)
    elif token_class == 2:
        kind = MANAGEMENT_KINDS.get(subclass)
        if kind is not None:
            return kind(
                tid=(payload >> 16) & 0xFFFFFF, rnd=payload >> 40, value=_class2_value(subclass, payload)
            )
        if subclass == 3:
            return Set1stSectionDecoderKeyToken.from_payload(subclass, payload)
        if subclass == 4:
            return Set2ndSectionDecoderKeyToken.from_payload(subclass, payload)
        if subclass == 8:
            return Set3rdSectionDecoderKeyToken.from_payload(subclass, payload)
    return RawToken(token_class, subclass, payload)


def _class2_value(subclass: int, payload: int) -> int:
    field = payload & 0xFFFF
    return amt.decode_standard_units(field) if subclass in (0, 6) else field
