"""What people type, made plain (pure): full-width characters from a Chinese IME, and plain decimals.

Contract:

* :func:`ascii_text` folds the full-width forms a Chinese input method produces (``１００``, ``Ａ１``,
  ``．``, ``－``, the ideographic space) to ASCII with NFKC, and the ideographic full stop ``。``
  to ``.`` when it sits between digits (``12。5``). Other text is unchanged. Use it for numbers,
  meter serials, account numbers and searches — never for names or passwords.
* :func:`plain_decimal` accepts only a plain decimal: an optional ``-``, 1 to :data:`MAX_DIGITS`
  ASCII digits, optionally one ``.`` and more digits — after :func:`ascii_text` and trimming.
  Exponents (``1E+2``), underscores (``1_000``), thousands separators (``1,000``, ``1 000``),
  ``NaN``, ``Infinity``, a leading ``+`` or ``.`` and anything longer are refused with a
  :class:`TypedError` whose ``reason`` says why (``format``, ``too_large``, ``places``,
  ``below_step``). ``places`` is the most decimals kept: more is refused unless the extra digits
  are zeros (``12.500`` is 12.50); a non-zero value smaller than one step (``0.001`` of money) is
  ``below_step`` so the person is told the smallest amount rather than "too many places".
* ``int`` and ``Decimal`` values are checked the same way (a finite Decimal, within the digits and
  places); ``float`` and ``bool`` are refused as inexact.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

__all__ = ["MAX_DIGITS", "TypedError", "ascii_text", "plain_decimal"]

#: integer digits of an amount: 999,999,999,999 is far beyond any sale and still fits the tables
MAX_DIGITS = 12
_PLAIN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_FULL_STOP_IN_NUMBER = re.compile(r"(?<=[0-9])。(?=[0-9])")


class TypedError(ValueError):
    """A typed value is not a plain decimal; ``reason`` is ``format``, ``too_large``, ``places`` or
    ``below_step``."""

    def __init__(self, reason: str, value: object) -> None:
        self.reason = reason
        super().__init__(f"{reason}: {value!r}")


def ascii_text(value: str) -> str:
    """``value`` with full-width ASCII forms folded to ASCII (see the module docstring)."""
    if value.isascii():
        return value
    return _FULL_STOP_IN_NUMBER.sub(".", unicodedata.normalize("NFKC", value))


def _from_text(text: str) -> Decimal:
    text = ascii_text(text).strip()
    if not _PLAIN.fullmatch(text):
        raise TypedError("format", text)
    return Decimal(text)


def plain_decimal(value: object, places: int | None = None) -> Decimal:
    """``value`` as a Decimal if it is a plain decimal (see the module docstring), else TypedError."""
    if isinstance(value, (bool, float)) or not isinstance(value, (str, int, Decimal)):
        raise TypedError("format", value)
    try:
        d = _from_text(value) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise TypedError("format", value) from None
    if not d.is_finite():
        raise TypedError("format", value)
    if d.adjusted() >= MAX_DIGITS:
        raise TypedError("too_large", value)
    if places is not None:
        step = Decimal(1).scaleb(-places)
        kept = d.quantize(step)
        if kept != d:
            raise TypedError("below_step" if abs(d) < step else "places", value)
        d = kept
    return d
