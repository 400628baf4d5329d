"""Amounts of money or energy as people type them and integrations send them: one parser, one set of
refusals (code ``invalid_amount``, a message naming the field in the request's language).

Only plain decimals are amounts (:func:`prepay.domain.typed.plain_decimal`): full-width digits from a
Chinese IME are read as digits, but exponents, separators, ``NaN`` and the like are refused, and so
is a value with more decimals than the field keeps — an amount is never silently rounded.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from django.utils.translation import gettext as _

from prepay.common.errors import ActionError
from prepay.domain.typed import MAX_DIGITS, TypedError, plain_decimal

Sign = Literal["positive", "nonzero", "nonnegative"]


def refusal_message(reason: str, what: str, places: int | None) -> str:
    """The words for a :class:`prepay.domain.typed.TypedError` ``reason`` about the field ``what``."""
    if reason == "too_large":
        return _("%(f)s is too large (at most %(n)s digits before the decimal point).") % {
            "f": what,
            "n": MAX_DIGITS,
        }
    if reason == "below_step" and places is not None:
        if places == 2:
            return _("%(f)s is less than one fen; the smallest amount is 0.01.") % {"f": what}
        step = Decimal(1).scaleb(-places)
        return _("%(f)s is less than the smallest step, %(s)s.") % {"f": what, "s": step}
    if reason in ("places", "below_step"):
        return _("%(f)s can have at most %(n)s decimal places.") % {"f": what, "n": places}
    return _("%(f)s must be a plain number such as 120 or 120.50 (digits and at most one decimal point).") % {
        "f": what
    }


def parse_amount(value: Any, what: str, *, sign: Sign = "positive", places: int | None = None) -> Decimal:
    """``value`` (text, int or Decimal) as a Decimal of the required ``sign``, else
    :class:`ActionError` ``invalid_amount``. ``what`` names the field as a sentence begins ("The
    amount"). ``places``: the most decimals the field keeps (2 for money, 3 for energy); the result
    has exactly that many. A value needing more is refused, never rounded."""
    try:
        d = plain_decimal(value, places)
    except TypedError as exc:
        raise ActionError("invalid_amount", refusal_message(exc.reason, what, places)) from None
    if sign == "positive" and d <= 0:
        if d < 0:
            raise ActionError("invalid_amount", _("%(f)s cannot be negative.") % {"f": what})
        if places == 2:
            raise ActionError("invalid_amount", _("%(f)s must be at least one fen (0.01).") % {"f": what})
        raise ActionError("invalid_amount", _("%(f)s must be more than zero.") % {"f": what})
    if sign == "nonzero" and d == 0:
        raise ActionError("invalid_amount", _("%(f)s must not be zero.") % {"f": what})
    if sign == "nonnegative" and d < 0:
        raise ActionError("invalid_amount", _("%(f)s cannot be negative.") % {"f": what})
    return d
