"""``{% load prepay_format %}``: one way to show times, money, energy, tokens and recorded codes.

* ``{{ t|when }}`` — ``2026-12-04 15:30`` in the site's time zone (``|when:"s"`` adds seconds,
  ``|when:"d"`` is the date alone); the same in every language, so a date never reads two ways.
* ``{{ amount|yuan }}`` — ``¥12.30`` (``-¥5.00`` below zero; empty for None unless ``|yuan:"0"``).
* ``{{ energy|qty:account.utility }}`` — ``12.500 kWh`` or ``3.000 m³`` (``utility`` may also be the
  unit itself: ``kWh``, ``m3``, ``m³``).
* ``{{ token|token4 }}`` — the digits in groups of four; a line wraps between groups only.
* ``{{ event.verb|verb }}`` and ``{% event_text e water %}`` — an audit verb and a meter event in
  words (:mod:`prepay.web.labels`).
* ``{% with w=account|words %}`` — the words of the account's utility (:mod:`prepay.counter.words`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils import timezone

from prepay.web.labels import event_text as _event_text
from prepay.web.labels import verb_label

register = template.Library()

#: the one date-time format of the screens (strftime)
WHEN = "%Y-%m-%d %H:%M"


@register.filter
def when(value: Any, part: str = "") -> str:
    """A date-time as ``2026-12-04 15:30`` in the current time zone; ``"s"``: with seconds, ``"d"``:
    the date alone. A plain date is ``2026-12-04``; None or "" is empty."""
    if value in (None, ""):
        return ""
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        if part == "d":
            return value.strftime("%Y-%m-%d")
        return value.strftime(WHEN + (":%S" if part == "s" else ""))
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    return str(value)


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


@register.filter
def yuan(value: Any, empty: str = "") -> str:
    """Money as ``¥12.30`` (two places), ``-¥5.00`` below zero; None is empty, or ``¥0.00`` with
    ``empty="0"``."""
    d = _decimal(value)
    if d is None:
        if empty != "0":
            return ""
        d = Decimal(0)
    sign = "-" if d < 0 else ""
    return f"{sign}¥{abs(d):.2f}"


def unit_of(utility: Any) -> str:
    """``m³`` for water (the utility ``water`` or a unit ``m3`` / ``m³``), else ``kWh``."""
    return "m³" if str(utility or "") in ("water", "m3", "m³") else "kWh"


@register.filter
def qty(value: Any, utility: Any = "") -> str:
    """Energy or water with three places and its unit: ``12.500 kWh``, ``3.000 m³``; empty for None."""
    d = _decimal(value)
    if d is None:
        return ""
    return f"{d:.3f} {unit_of(utility)}"


@register.filter
def unit(utility: Any) -> str:
    """The unit of a utility: ``kWh`` or ``m³``."""
    return unit_of(utility)


@register.filter
def token4(value: Any) -> str:
    """A token's digits in groups of four (``1234 5678 9012 3456 7890``): a line wraps between
    groups only, never inside one (a token is shown with ``white-space: normal``, see counter.css)."""
    digits = "".join(ch for ch in str(value or "") if ch.isdigit())
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


@register.filter
def verb(value: Any) -> str:
    """An audit verb in words (``vend.sell`` → Sale)."""
    return verb_label(str(value or ""))


@register.simple_tag
def event_text(event: Any, water: Any = False) -> str:
    """A meter event (``kind`` and ``detail``) as a sentence; ``water``: speak of the valve."""
    return _event_text(event.kind, event.detail, water=bool(water))


@register.filter
def words(account: Any) -> dict[str, Any]:
    """The words of the account's utility (water speaks of water): ``prepay.counter.words``."""
    from prepay.counter.words import utility_words

    return utility_words(getattr(account, "utility", account))
