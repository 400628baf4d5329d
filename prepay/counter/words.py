"""The words of a utility: a water account speaks of water (售水, 水量, 水表, 阀门), never of power.

Templates take them with ``{% with w=account|words %}`` (``prepay_format``), views with
:func:`utility_words`. Each entry is already translated into the active language.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from prepay.customers.choices import Utility


def utility_words(utility: Any) -> dict[str, Any]:
    """Labels for ``utility`` (``"water"`` or ``"electricity"``, or a unit: ``m3`` / ``m³`` is
    water); keys are the same for both."""
    if str(utility) in (Utility.WATER, "m3", "m³"):
        return {
            "water": True,
            "unit": "m³",
            "sell": _("Sell water"),
            "sold": _("Water sold"),
            "confirm_title": _("Confirm the water sale"),
            "confirm_button": _("Confirm and sell water (Enter)"),
            "large": _("Large water sale"),
            "energy": _("Water volume"),
            "buys": _("Buys water for"),
            "meter": _("Water meter"),
            "relay": _("Valve"),
            "tariff": _("Water price"),
            "last_purchases": _("Last water purchases"),
            "purchases": _("Water purchases"),
            "no_purchases": _("No water purchases yet."),
            "installations": _("Water meters and installations"),
            "no_installation": _("No water meter has been installed."),
            "no_meter": _("No water meter installed."),
            "consumption": _("Water use"),
            "meter_events": _("Water meter events"),
            "no_meter_events": _("No water meter events."),
            "credit_carried_in": _("Water carried in"),
            "credit_left": _("Water left"),
            "remote_credit": _("The water bought is sent to the meter over the network."),
            "card_write": _(
                "Write the water purchase to the customer's IC card, then insert the card in the meter."
            ),
            "relay_tool": _("Remote valve close or open"),
            "token_meter_note": _(
                "This meter holds the water bought: each token adds to what is left on the meter, and "
                "the account balance only keeps money not yet turned into water."
            ),
        }
    return {
        "water": False,
        "unit": "kWh",
        "sell": _("Sell"),
        "sold": _("Sold"),
        "confirm_title": _("Confirm the sale"),
        "confirm_button": _("Confirm and sell (Enter)"),
        "large": _("Large amount"),
        "energy": _("Energy"),
        "buys": _("Buys credit for"),
        "meter": _("Meter"),
        "relay": _("Relay"),
        "tariff": _("Tariff"),
        "last_purchases": _("Last purchases"),
        "purchases": _("Purchases"),
        "no_purchases": _("No purchases yet."),
        "installations": _("Meters and installations"),
        "no_installation": _("No meter has been installed."),
        "no_meter": _("No meter installed."),
        "consumption": _("Consumption"),
        "meter_events": _("Meter events"),
        "no_meter_events": _("No meter events."),
        "credit_carried_in": _("Credit carried in"),
        "credit_left": _("Credit left"),
        "remote_credit": _("The credit is sent to the meter over the network."),
        "card_write": _("Write the purchase to the customer's IC card, then insert the card in the meter."),
        "relay_tool": _("Remote trip or close"),
        "token_meter_note": _(
            "This meter holds the credit bought: each token adds energy to what is left on the meter, "
            "and the account balance only keeps money not yet turned into energy."
        ),
    }
