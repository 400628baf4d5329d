"""Small, stable facade over the STS engine.

All functions are pure (no I/O, no global state beyond caches of derived cipher tables) and
raise :class:`~.errors.StsError` subclasses with stable ``code`` values on bad input.

Decoder keys may be passed as :class:`DecoderKey`, a 64-bit int or 16 hex digits (natural
order).  ``algorithm`` is ``"07"`` (STA, default) or ``"09"`` (DEA, experimental).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol

from . import amount as amt
from .crc import crc_c_field, crc_field
from .dea import DeaCipher
from .errors import InvalidInputError, KeyExpiredError, UnsupportedAlgorithmError
from .keys import DecoderKey, KeyParameters, derive_decoder_key
from .sta import sta_cipher
from .tid import check_tid, key_expired, tid_from_datetime
from .token import (
    MANAGEMENT_KINDS,
    CurrencyCreditToken,
    MeterTestToken,
    Set1stSectionDecoderKeyToken,
    Set2ndSectionDecoderKeyToken,
    Set3rdSectionDecoderKeyToken,
    StandardCreditToken,
    Token,
    build_block,
    format_token,
    parse_block,
    parse_token_number,
    token_class_of,
    transpose,
    untranspose,
)

KeyLike = DecoderKey | int | str
_CLEAR_2827 = ((1 << 64) - 1) ^ ((1 << 28) | (1 << 27))


class BlockCipher(Protocol):
    """A 64-bit block cipher bound to one decoder key (EA07 or EA09)."""

    def encrypt(self, d: int) -> int: ...

    def decrypt(self, d: int) -> int: ...


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A generated token: the 20-digit string, its TID (None for KCT/class 1) and its fields."""

    token: str
    tid: int | None
    fields: Token


def key_value(key: KeyLike) -> int:
    """Normalise a decoder key argument to its 64-bit int."""
    if isinstance(key, DecoderKey):
        return key.value
    if isinstance(key, str):
        return DecoderKey.from_hex(key).value
    return DecoderKey(key).value


@lru_cache(maxsize=256)
def _dea(key: int) -> DeaCipher:
    return DeaCipher(key)


def cipher_for(key: KeyLike, algorithm: str = "07") -> BlockCipher:
    """Cached cipher for a decoder key: EA07 (STA) or EA09 (DEA, experimental)."""
    value = key_value(key)
    if algorithm == "07":
        return sta_cipher(value)
    if algorithm == "09":
        return _dea(value)
    raise UnsupportedAlgorithmError("encryption algorithm must be 07 (STA) or 09 (DEA)")


def decoder_key(params: KeyParameters | Mapping[str, Any]) -> DecoderKey:
    """Derive a decoder key (DKGA02 or DKGA04) from key parameters.

    ``params`` may be a :class:`KeyParameters` or a mapping with the batch-interface names
    (``dkga``, ``vending_key`` (hex), ``supply_group_code``, ``tariff_index``, ``key_revision``,
    ``key_type``, ``pan``, ``base_date``, ``encryption_algorithm``).
    """
    if not isinstance(params, KeyParameters):
        params = key_parameters(params)
    return derive_decoder_key(params)


def key_parameters(data: Mapping[str, Any]) -> KeyParameters:
    """Build :class:`KeyParameters` from a mapping (batch/JSON field names)."""
    required = ("dkga", "vending_key", "supply_group_code", "tariff_index", "key_revision", "key_type", "pan")
    missing = [name for name in required if name not in data]
    if missing:
        raise InvalidInputError(f"key parameters are missing: {', '.join(missing)}", code="missing_field")
    return KeyParameters.build(
        dkga=str(data["dkga"]),
        vending_key=data["vending_key"],
        supply_group_code=data["supply_group_code"],
        tariff_index=data["tariff_index"],
        key_revision=data["key_revision"],
        key_type=data["key_type"],
        pan=data["pan"],
        base_date=data.get("base_date", 1993),
        encryption_algorithm=str(data.get("encryption_algorithm", "07")),
    )


def resolve_tid(issued_at: datetime | None, tid: int | None, base_date: int) -> int:
    """TID from an issue time (reserved-minute rule applied) or a raw TID; exactly one needed."""
    if (issued_at is None) == (tid is None):
        raise InvalidInputError("give exactly one of issued_at or tid", code="missing_field")
    if issued_at is not None:
        return tid_from_datetime(issued_at, base_date)
    assert tid is not None
    return check_tid(tid)


def encode_token(fields: Token, key: KeyLike | None = None, algorithm: str = "07") -> str:
    """Encode a token object to its 20 digits; ``key`` is required for classes 0, 2 and 3."""
    cls = token_class_of(fields)
    block = build_block(fields)
    if cls != 1:
        if key is None:
            raise InvalidInputError("a decoder key is needed for this token class", code="missing_field")
        block = cipher_for(key, algorithm).encrypt(block)
    return format_token(transpose(block, cls))


def _check_ken(tid: int, ken: int | None) -> None:
    if ken is not None and key_expired(tid, ken):
        raise KeyExpiredError(f"the decoder key has expired for this TID (KEN {ken})")


def credit_token(
    key: KeyLike,
    subclass: int,
    amount: Decimal | int | str,
    *,
    issued_at: datetime | None = None,
    tid: int | None = None,
    base_date: int = 1993,
    rnd: int | None = None,
    ken: int | None = None,
    algorithm: str = "07",
    rounding: str = amt.ROUNDING_UP,
) -> IssuedToken:
    """Class 0 credit token. Subclasses 0..3: amount in whole units (0.1 resolution, rounded
    up); 4..7: signed currency amount (10^-5 resolution, rounded toward +∞).

    ``ken`` (optional) makes the vending side refuse an expired key (``TID >> 16 > KEN``).
    ``rounding="legacy"`` reproduces NectarAPI tokens (truncation >= 1 unit; see
    :func:`.amount.encode_standard_amount`) and applies to subclasses 0..3 only.
    """
    t = resolve_tid(issued_at, tid, base_date)
    _check_ken(t, ken)
    fields: Token
    if isinstance(subclass, int) and not isinstance(subclass, bool) and 4 <= subclass <= 7:
        fields = CurrencyCreditToken(tid=t, amount=amt.to_decimal(amount), subclass=subclass)
    else:
        r = secrets.randbelow(16) if rnd is None else rnd
        fields = StandardCreditToken(tid=t, rnd=r, amount=amt.pre_round(amount, rounding), subclass=subclass)
    return IssuedToken(encode_token(fields, key, algorithm), t, fields)


_MANAGEMENT = MANAGEMENT_KINDS


def management_token(
    key: KeyLike,
    subclass: int,
    value: int,
    *,
    issued_at: datetime | None = None,
    tid: int | None = None,
    base_date: int = 1993,
    rnd: int | None = None,
    ken: int | None = None,
    algorithm: str = "07",
) -> IssuedToken:
    """Class 2 management token with a TID: subclass 0 max power (W, rounded up), 1 clear
    credit (register 0..7 or 65535), 2 tariff rate (raw 16 bits), 5 clear tamper (value 0),
    6 max phase power unbalance (W, rounded up), 7 water meter factor (raw 16 bits)."""
    kind = _MANAGEMENT.get(subclass) if isinstance(subclass, int) else None
    if kind is None:
        raise InvalidInputError("management subclass must be 0, 1, 2, 5, 6 or 7", code="out_of_range")
    t = resolve_tid(issued_at, tid, base_date)
    _check_ken(t, ken)
    r = secrets.randbelow(16) if rnd is None else rnd
    fields = kind(tid=t, rnd=r, value=value)
    return IssuedToken(encode_token(fields, key, algorithm), t, fields)


def test_token(subclass: int, control: int, manufacturer_code: int = 0) -> IssuedToken:
    """Class 1 InitiateMeterTest/Display token (key independent)."""
    fields = MeterTestToken(control=control, manufacturer_code=manufacturer_code, subclass=subclass)
    return IssuedToken(encode_token(fields), None, fields)


test_token.__test__ = False  # type: ignore[attr-defined]  # not a pytest test when imported


def key_change_tokens(
    old_key: KeyLike,
    new_key: KeyLike,
    *,
    key_revision: int,
    key_type: int,
    tariff_index: int,
    ken_high: int = 15,
    ken_low: int = 15,
    rollover: bool = False,
    third_token: bool = False,
    supply_group_code: int | str | None = None,
    algorithm: str = "07",
) -> list[IssuedToken]:
    """Key change token set, encrypted with the OLD key and carrying the NEW key.

    Returns [KCT-1 (subclass 3), KCT-2 (subclass 4)] and, when ``third_token`` is set,
    KCT-3 (subclass 8, carrying ``supply_group_code``; layout inferred from one vector).
    ``rollover`` must be set when the base date changes (it clears the meter's TID memory).
    """
    new = key_value(new_key)
    kct1 = Set1stSectionDecoderKeyToken(
        ken_high=ken_high,
        key_revision=key_revision,
        rollover=rollover,
        third_token=third_token,
        key_type=key_type,
        key_high=new >> 32,
    )
    kct2 = Set2ndSectionDecoderKeyToken(ken_low=ken_low, tariff_index=tariff_index, key_low=new & 0xFFFFFFFF)
    sets: list[Token] = [kct1, kct2]
    if third_token:
        if supply_group_code is None:
            raise InvalidInputError(
                "a third key change token needs the supply group code", code="missing_field"
            )
        sgc = supply_group_code
        if isinstance(sgc, str):
            if len(sgc) != 6 or not sgc.isdigit() or not sgc.isascii():
                raise InvalidInputError("supply group code must be 6 decimal digits")
            sgc = int(sgc)
        sets.append(Set3rdSectionDecoderKeyToken(supply_group_code=sgc))
    return [IssuedToken(encode_token(f, old_key, algorithm), None, f) for f in sets]


def decode(token: str, key: KeyLike | None = None, *, algorithm: str = "07") -> Token:
    """Decode 20 digits into a token object, checking the CRC.

    Class 1 tokens need no key; other classes are decrypted with ``key``.  Raises
    :class:`TokenFormatError`, :class:`CrcError` (wrong key / typo) or :class:`OutOfRangeError`.
    """
    cls, block = untranspose(parse_token_number(token))
    if cls != 1:
        if key is None:
            raise InvalidInputError("a decoder key is needed to decode this token", code="missing_field")
        block = cipher_for(key, algorithm).decrypt(block)
    return parse_block(cls, block)


@dataclass(frozen=True, slots=True)
class CreditRequest:
    """One item of :func:`credit_tokens`: subclass 0..3, amount, TID and RND (None = random)."""

    subclass: int
    amount: Decimal | int | str
    tid: int
    rnd: int | None = None


def credit_tokens(
    key: KeyLike,
    items: Iterable[CreditRequest | tuple[int, Decimal | int | str, int, int | None]],
    *,
    algorithm: str = "07",
) -> list[str]:
    """Generate many standard credit tokens (subclasses 0..3) with one decoder key, fast.

    Validation is the same as :func:`credit_token` (the first bad item raises); the cipher
    tables are resolved once and the per-token work is inlined.
    """
    cipher = cipher_for(key, algorithm)
    enc = cipher.encrypt
    out: list[str] = []
    append = out.append
    rand = secrets.randbits
    encode_amount = amt.encode_standard_amount
    fields: dict[object, int] = {}  # batches repeat amounts: encode each distinct one once
    for item in items:
        if isinstance(item, CreditRequest):
            subclass, amount, tid, rnd = item.subclass, item.amount, item.tid, item.rnd
        else:
            subclass, amount, tid, rnd = item
        if subclass.__class__ is not int or not 0 <= subclass <= 3:
            raise InvalidInputError("batch credit subclass must be 0..3", code="out_of_range")
        if tid.__class__ is not int or not 0 <= tid <= 0xFFFFFF:
            check_tid(tid)
        if rnd is None:
            rnd = rand(4)
        elif rnd.__class__ is not int or not 0 <= rnd <= 15:
            raise InvalidInputError("RND must be between 0 and 15", code="out_of_range")
        field = fields.get(amount) if amount.__class__ is not float else None
        if field is None:
            field = encode_amount(amount)
            fields[amount] = field
        upper = subclass << 44 | rnd << 40 | tid << 16 | field
        block = enc(upper << 16 | crc_field(0, upper))
        append(f"{(block >> 28 & 1) << 65 | (block >> 27 & 1) << 64 | (block & _CLEAR_2827):020d}")
    return out


def credit_tokens_same(
    key: KeyLike,
    subclass: int,
    amounts: Sequence[Decimal | int | str],
    tids: Sequence[int],
    rnd: int | None = None,
) -> list[str]:
    """Convenience wrapper of :func:`credit_tokens` for parallel sequences of amounts and TIDs."""
    if len(amounts) != len(tids):
        raise InvalidInputError("amounts and tids must have the same length")
    return credit_tokens(key, [(subclass, a, t, rnd) for a, t in zip(amounts, tids, strict=True)])


__all__ = [
    "BlockCipher",
    "CreditRequest",
    "IssuedToken",
    "KeyLike",
    "cipher_for",
    "credit_token",
    "credit_tokens",
    "credit_tokens_same",
    "crc_c_field",
    "decode",
    "decoder_key",
    "encode_token",
    "key_change_tokens",
    "key_parameters",
    "key_value",
    "management_token",
    "resolve_tid",
    "test_token",
]
