"""Amount encodings of the 16-bit token field.

Standard (credit subclasses 0..3, max power limit, max phase power unbalance limit)
    field = e (2 bits) ∥ m (14 bits); value ``t = m·10^e + off(e)`` with
    ``off(e) = Σ_{n=1..e} 2^14·10^(n-1)`` (0, 16384, 180224, 1818624).  ``t`` is in base units:
    0.1 kWh / 0.1 m³ / 0.1 unit for credit, 1 W for power limits.  Largest t = 18 201 624
    (1 820 162.4 kWh, field 0xFFFF).

Currency (credit subclasses 4..7)
    ``t = |amount|·10^5``; 5-bit exponent e = e0 + 2e1 + 4e2 + 8e3 + 16e4; field = e1 ∥ e0 ∥ m;
    the nibble in the RND position is sign ∥ e4 ∥ e3 ∥ e2 (sign 1 = negative).

Rounding contract (customer's favour): the encoded value is never less than what was paid.
Positive amounts round **up** to the next representable value; negative currency amounts
(debits) round their magnitude **down**, i.e. the signed value always rounds toward +∞.  Values
that cannot be represented at all raise :class:`AmountTooLargeError` — the field is never
silently clipped.  All arithmetic is exact (ints / rationals); floats are refused.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Context, Decimal, InvalidOperation
from fractions import Fraction

from .errors import AmountTooLargeError, InvalidInputError, OutOfRangeError

MANTISSA_MAX = 16383
STANDARD_MAX_UNITS = MANTISSA_MAX * 1000 + 1818624  # 18 201 624 = field 0xFFFF
STANDARD_MAX_AMOUNT = Decimal("1820162.4")
CURRENCY_EXP_MAX = 31
_POW10: list[int] = [10**e for e in range(CURRENCY_EXP_MAX + 1)]
_OFFSETS: list[int] = [16384 * (p - 1) // 9 for p in _POW10]
CURRENCY_MAX_UNITS = MANTISSA_MAX * 10**CURRENCY_EXP_MAX + _OFFSETS[CURRENCY_EXP_MAX]
# Currency values reach 37 digits: decimal's default 28-digit context would round them.
EXACT = Context(prec=100)


def to_decimal(value: Decimal | int | str, what: str = "amount") -> Decimal:
    """Convert user input to a finite Decimal; floats are refused to avoid binary rounding."""
    if isinstance(value, bool | float):
        raise InvalidInputError(f"{what} must be a decimal string, int or Decimal (not float)")
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInputError(f"{what} is not a valid decimal number") from None
    if not d.is_finite():
        raise InvalidInputError(f"{what} must be finite")
    return d


def _encode_exponent(t: Fraction, max_e: int, round_up: bool) -> tuple[int, int]:
    """Smallest exponent e whose mantissa fits; returns (e, m). ``t`` must be >= 0."""
    num, den = t.numerator, t.denominator
    for e in range(max_e + 1):
        scale = den * _POW10[e]
        diff = num - _OFFSETS[e] * den
        m = -(-diff // scale) if round_up else diff // scale
        if m < 0:  # only reachable when rounding up inside a gap: the next step is off(e)
            m = 0
        if m <= MANTISSA_MAX:
            return e, m
    raise AmountTooLargeError("amount is larger than the largest value the token field can carry")


def encode_standard_units(units: int | Fraction) -> int:
    """Encode ``t`` base units (may be fractional) into the standard 16-bit field, rounding up."""
    t = Fraction(units)
    if t < 0:
        raise OutOfRangeError("amount must not be negative")
    if t > STANDARD_MAX_UNITS:
        raise AmountTooLargeError(
            f"amount exceeds the maximum of {STANDARD_MAX_UNITS} base units (field 0xFFFF)"
        )
    e, m = _encode_exponent(t, 3, round_up=True)
    return (e << 14) | m


def decode_standard_units(field: int) -> int:
    """Base units ``t`` represented by a standard 16-bit amount field."""
    e = field >> 14
    return (field & 0x3FFF) * _POW10[e] + _OFFSETS[e]


ROUNDING_UP = "up"
ROUNDING_LEGACY = "legacy"
ROUNDINGS = (ROUNDING_UP, ROUNDING_LEGACY)


def encode_standard_amount(amount: Decimal | int | str, rounding: str = ROUNDING_UP) -> int:
    """Encode an amount in whole units (kWh, m³, ...; resolution 0.1) into the standard field.

    Raises :class:`AmountTooLargeError` beyond 1 820 162.4.  ``rounding``:

    * ``"up"`` (default, the contract): round up to the next representable step, so the token
      never carries less than was paid.
    * ``"legacy"``: reproduce tokens of the NectarAPI engine (source N of the vectors), which
      rounds amounts below 1 unit *up* to 0.1 but *truncates* amounts of 1 unit and more to
      0.1 before the (rounding-up) field encoding.  Only for regenerating legacy tokens: it
      can short-change the customer by up to 0.1 unit.
    """
    d = to_decimal(amount)
    if d < 0:
        raise OutOfRangeError("amount must not be negative")
    if d > STANDARD_MAX_AMOUNT:
        raise AmountTooLargeError("amount exceeds the maximum of 1820162.4 per token")
    units = Fraction(d) * 10
    if rounding == ROUNDING_LEGACY:
        units = Fraction(units.numerator // units.denominator) if d >= 1 else units
    elif rounding != ROUNDING_UP:
        raise InvalidInputError("rounding must be 'up' or 'legacy'")
    return encode_standard_units(units)


def pre_round(amount: Decimal | int | str, rounding: str = ROUNDING_UP) -> Decimal:
    """Apply the vending rounding policy before field encoding (see :func:`encode_standard_amount`).

    ``"up"`` returns the amount unchanged (the field encoding rounds up); ``"legacy"`` truncates
    amounts >= 1 to one decimal place.
    """
    d = to_decimal(amount)
    if rounding == ROUNDING_UP:
        return d
    if rounding != ROUNDING_LEGACY:
        raise InvalidInputError("rounding must be 'up' or 'legacy'")
    if d > STANDARD_MAX_AMOUNT:
        raise AmountTooLargeError("amount exceeds the maximum of 1820162.4 per token")
    if d >= 1:
        return d.quantize(Decimal("0.1"), rounding=ROUND_FLOOR)
    return d


def decode_standard_amount(field: int) -> Decimal:
    """Amount in whole units (one decimal place) carried by a standard field."""
    return Decimal(decode_standard_units(field)).scaleb(-1)


def encode_currency(amount: Decimal | int | str) -> tuple[int, int]:
    """Encode a signed currency amount; returns ``(nibble, field)``.

    ``nibble`` goes into block bits 59..56 (sign ∥ e4 ∥ e3 ∥ e2), ``field`` into bits 31..16.
    """
    d = to_decimal(amount)
    negative = d < 0
    t = Fraction(d.copy_abs()) * 10**5  # copy_abs: abs() would round to 28 digits
    if t > CURRENCY_MAX_UNITS:
        raise AmountTooLargeError("currency amount is larger than the token field can carry")
    e, m = _encode_exponent(t, CURRENCY_EXP_MAX, round_up=not negative)
    if negative and m == 0 and e == 0:
        negative = False  # a debit smaller than the resolution rounds to zero: no "minus zero"
    nibble = (int(negative) << 3) | (e >> 2)
    field = ((e >> 1 & 1) << 15) | ((e & 1) << 14) | m
    return nibble, field


def decode_currency_units(nibble: int, field: int) -> int:
    """Signed value in 10^-5 currency units carried by (nibble, field)."""
    e = ((nibble & 7) << 2) | ((field >> 15) & 1) << 1 | ((field >> 14) & 1)
    t = (field & 0x3FFF) * _POW10[e] + _OFFSETS[e]
    return -t if nibble & 8 else t


def decode_currency(nibble: int, field: int) -> Decimal:
    """Signed currency amount carried by (nibble, field), exact."""
    return Decimal(decode_currency_units(nibble, field)).scaleb(-5, EXACT)


def format_amount(value: Decimal) -> str:
    """Plain (never scientific) decimal text; trailing zeros beyond one decimal are dropped."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0")
        if text.endswith("."):
            text = text[:-1]
    return text
