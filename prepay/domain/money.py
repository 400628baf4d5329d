"""Money and energy quantities: exact Decimals, named rounding points, integer minor units.

Contract: money is a ``Decimal`` with two places (yuan.fen); it is stored as an integer number of
minor units (fen). Energy and volume are ``Decimal`` with three places (kWh / m³), stored as integer
thousandths (Wh / litres). Nothing here ever touches ``float``.
"""

from __future__ import annotations

import decimal
from decimal import Decimal

MONEY_PLACES = 2
ENERGY_PLACES = 3
ROUNDING_MODES = frozenset(
    {
        decimal.ROUND_HALF_UP,
        decimal.ROUND_HALF_EVEN,
        decimal.ROUND_DOWN,
        decimal.ROUND_UP,
        decimal.ROUND_CEILING,
        decimal.ROUND_FLOOR,
        decimal.ROUND_HALF_DOWN,
    }
)


class QuantityError(ValueError):
    """A value is not a valid money or energy quantity."""


def to_decimal(value: object) -> Decimal:
    """Parse ``value`` (Decimal, int or str) as a finite Decimal; floats are refused as inexact."""
    if isinstance(value, (bool, float)):
        raise QuantityError(f"refusing inexact value {value!r}; pass a string or Decimal")
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (decimal.InvalidOperation, ValueError) as exc:
        raise QuantityError(f"not a number: {value!r}") from exc
    if not result.is_finite():
        raise QuantityError(f"not a finite number: {value!r}")
    return result


def quantize(value: object, places: int, rounding: str = decimal.ROUND_HALF_UP) -> Decimal:
    """Round ``value`` to ``places`` decimals with the named rounding mode."""
    if rounding not in ROUNDING_MODES:
        raise QuantityError(f"unknown rounding mode {rounding!r}")
    return to_decimal(value).quantize(Decimal(1).scaleb(-places), rounding=rounding)


def money(value: object, rounding: str = decimal.ROUND_HALF_UP) -> Decimal:
    """Round to the money rounding point (two places)."""
    return quantize(value, MONEY_PLACES, rounding)


def energy(value: object, rounding: str = decimal.ROUND_HALF_UP) -> Decimal:
    """Round to the energy rounding point (three places: Wh or litres)."""
    return quantize(value, ENERGY_PLACES, rounding)


def to_minor(value: object, places: int = MONEY_PLACES) -> int:
    """Exact conversion to integer minor units; refuses a value with more places than allowed."""
    d = to_decimal(value)
    scaled = d.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise QuantityError(f"{d} has more than {places} decimal places")
    return int(scaled)


def from_minor(units: int, places: int = MONEY_PLACES) -> Decimal:
    """Integer minor units back to a Decimal with exactly ``places`` places."""
    return Decimal(int(units)).scaleb(-places).quantize(Decimal(1).scaleb(-places))
