"""Amounts of money or energy as people type them and integrations send them: one parser, one set of
refusals (code ``invalid_amount``, a message naming the field in the request's language)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from django.utils.translation import gettext as _

from prepay.common.errors import ActionError
from prepay.domain.money import quantize

Sign = Literal["positive", "nonzero", "nonnegative"]


def parse_amount(value: Any, what: str, *, sign: Sign = "positive", places: int | None = None) -> Decimal:
    """``value`` (text, int or Decimal) as a finite Decimal of the required ``sign``, else
    :class:`ActionError`. ``what`` names the field as a sentence begins ("The amount"). ``places``
    rounds half-up to that many decimals first (2 for money), so the sign is checked on what is kept.
    """
    if isinstance(value, bool):  # True is an int to Python, never an amount
        value = None
    try:
        d = Decimal(str(value).strip())
        if not d.is_finite():
            raise ValueError(d)
        if places is not None:
            d = quantize(d, places)
    except Exception:
        raise ActionError("invalid_amount", _("%(f)s is not a number.") % {"f": what}) from None
    if sign == "positive" and d <= 0:
        raise ActionError("invalid_amount", _("%(f)s must be a positive number.") % {"f": what})
    if sign == "nonzero" and d == 0:
        raise ActionError("invalid_amount", _("%(f)s must be a non-zero number.") % {"f": what})
    if sign == "nonnegative" and d < 0:
        raise ActionError("invalid_amount", _("%(f)s cannot be negative.") % {"f": what})
    return d
