"""The parts of a receipt shared by every kind of receipt: the formatting of money, energy and tokens,
the tokens a receipt carries, and the tariff breakdown as display rows.

Used by ``receipts.py`` (sales, reversals, refunds) and ``carried_receipts.py`` (credit carried over
at a meter replacement); kept apart so that those two need not import each other.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.text import capfirst
from django.utils.translation import gettext as _

from prepay.tokens.models import TokenKind
from prepay.vending.models import Receipt

#: pure-Python fallback names for breakdown keys whose label was left at the engine's default
_DEFAULT_LABELS = {"quota", "flat", "tou"}


def token_groups(token: str) -> str:
    """A 20-digit token in groups of four: ``1234 5678 9012 3456 7890``."""
    digits = "".join(ch for ch in token if ch.isdigit())
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def mask_name(name: str) -> str:
    """Keep the first character of each word and mask the rest: 张三丰 → 张**, Li Wei → L* W**."""
    return " ".join(word[:1] + "*" * (len(word) - 1) for word in name.split())


def fmt_money(value: Decimal | str | None) -> str:
    """``¥12.30`` (two places); empty for None."""
    if value is None or value == "":
        return ""
    return f"¥{Decimal(value):.2f}"


def fmt_energy(value: Decimal | str | None, unit: str) -> str:
    """``85.034 kWh``: three places (the stored resolution), then the unit."""
    if value is None or value == "":
        return ""
    return f"{Decimal(value):.3f} {unit}"


def unit_symbol(unit: str) -> str:
    """``m³`` for a water unit (``m3`` or ``m³``), else ``kWh``."""
    return "m³" if unit in ("m3", "m³") else "kWh"


def person_name(user: Any) -> str:
    """A user's full name, else their username; empty for nobody."""
    if user is None:
        return ""
    return str(user.get_full_name() or user.get_username())


def tokens_of(receipt: Receipt) -> list[str]:
    """The 20-digit tokens a receipt carries: the credit tokens of a vend in TID order, or for a
    reversal the clear-credit token issued when it was approved."""
    if receipt.vend_id is not None:
        vend = receipt.vend
        assert vend is not None
        return [t.token for t in vend.tokens.filter(kind=TokenKind.CREDIT).order_by("tid", "pk")]
    if receipt.delivery_id is not None:
        delivery = receipt.delivery
        assert delivery is not None
        return [t.token for t in delivery.tokens.filter(kind=TokenKind.CREDIT).order_by("tid", "pk")]
    reversal = receipt.reversal
    if reversal is None or reversal.clear_token_id is None:
        return []
    assert reversal.clear_token is not None
    return [reversal.clear_token.token]


def line_label(key: str, label: str, unit: str = "kWh") -> str:
    """A breakdown line's label in the active language: the engine's default names are translated,
    labels an administrator wrote into the tariff are shown as written; water (``unit`` m³) is
    spoken of as water."""
    if key.startswith("tier:") and label == f"tier {key.split(':', 1)[1]}":
        return _("Tier %(n)s") % {"n": key.split(":", 1)[1]}
    if key.startswith("period:") and label in ("", key.split(":", 1)[1]):
        period = key.split(":", 1)[1]
        names = {
            "sharp": _("Sharp period"),
            "peak": _("Peak period"),
            "flat": _("Flat period"),
            "valley": _("Valley period"),
        }
        return names.get(period, label or period)
    if key in _DEFAULT_LABELS and label in ("", key):
        if unit == "m³":
            return {"quota": _("Flat-price water"), "flat": _("Water volume"), "tou": _("Time of use")}[key]
        return {"quota": _("Flat-price energy"), "flat": capfirst(_("energy")), "tou": _("Time of use")}[key]
    return label or key


def breakdown_display(data: dict[str, Any], unit: str) -> dict[str, Any]:
    """The tariff quote (``Quote.to_dict()``) as display rows; empty when the vend has none."""
    if not data:
        return {"lines": [], "fixed": [], "vat_amount": "", "vat_rate": "", "vat_included": True}
    rate = Decimal(str(data.get("vat_rate") or "0"))
    return {
        "lines": [
            {
                "label": line_label(str(line.get("key", "")), str(line.get("label", "")), unit),
                "energy": fmt_energy(line.get("energy"), unit),
                "price": f"¥{Decimal(str(line.get('price', '0'))).normalize():f}/{unit}",
                "amount": fmt_money(line.get("amount")),
            }
            for line in data.get("lines", [])
        ],
        "fixed": [{"label": f["name"], "amount": fmt_money(f["amount"])} for f in data.get("fixed", [])],
        "net_amount": fmt_money(data.get("net_amount")),
        "vat_amount": fmt_money(data.get("vat_amount")),
        "vat_rate": f"{(rate * 100).normalize():f}%" if rate else "",
        "vat_included": bool(data.get("vat_included", True)),
        "total": fmt_money(data.get("total")),
    }
