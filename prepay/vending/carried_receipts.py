"""The receipt of credit carried over at a meter replacement (换表补电): no money moved; the token(s),
card purchase or remote credit that take the old meter's credit to the new one. Used by
``receipts.receipt_context`` (kept apart to keep that module short)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from prepay.vending.models import Delivery, Receipt
from prepay.vending.receipt_parts import (
    breakdown_display,
    fmt_energy,
    fmt_money,
    person_name,
    token_groups,
    tokens_of,
)


def carried_rows(ctx: dict[str, Any]) -> list[tuple[str, str]]:
    """Rows of a carried-credit receipt (meter replacement): what was carried, from where."""
    rows = [(_("Replaced meter"), ctx["old_meter"]), (_("Energy carried over"), ctx["energy"])]
    if ctx["register_units"]:
        rows.append((_("Multiplier (CT × PT)"), str(ctx["multiplier"])))
        rows.append((_("Register units loaded"), ctx["register_units"]))
    if ctx["card_sequence"] is not None:
        rows.append((_("Card purchase no."), str(ctx["card_sequence"])))
    return rows


def carried_facts(receipt: Receipt) -> dict[str, Any]:
    """The context of a receipt for credit carried over at a meter replacement (no money moved)."""
    delivery = receipt.delivery
    assert delivery is not None
    unit = "m³" if delivery.account.utility == "water" else "kWh"
    inst = delivery.installation
    old = (
        inst.account.installations.filter(ended_at__isnull=False, started_at__lte=inst.started_at)
        .exclude(pk=inst.pk)
        .select_related("meter")
        .order_by("-ended_at")
        .first()
        if inst is not None
        else None
    )
    tokens = [token_groups(t) for t in tokens_of(receipt)]
    notes: dict[str, str] = {
        Delivery.TOKEN: _("Enter the token(s) on the new meter's keypad, in this order.") if tokens else "",
        Delivery.CARD: _("Write the credit to the IC card and insert the card into the new meter."),
        Delivery.REMOTE: _("The credit is sent to the new meter remotely."),
    }
    multiplier = delivery.meter.multiplier
    return {
        "kind": "carried",
        "title": _("Credit carried over (meter replacement)"),
        "operator": person_name(delivery.created_by) or person_name(receipt.issued_by),
        "meter_serial": delivery.meter.serial,
        "old_meter": old.meter.serial if old is not None else "",
        "unit": unit,
        "amount": fmt_money(Decimal("0.00")),
        "energy": fmt_energy(delivery.energy, unit),
        "multiplier": multiplier,
        "register_units": fmt_energy(delivery.register_units, unit) if multiplier != 1 else "",
        "breakdown": breakdown_display({}, unit),
        "method": "",
        "reference": "",
        "delivery": delivery.kind,
        "tokens": tokens,
        "delivery_note": notes.get(delivery.kind, ""),
        "balance": "",
        "card_sequence": delivery.card.sequence if delivery.card is not None else None,
        "status": "completed",
        "status_display": "",
    }
