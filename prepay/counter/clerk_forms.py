"""Forms of the follow-up clerk screens: adjustments (调剂电量 / 调账) and protected supply (保电).

Like the other counter forms they only parse; the actions they feed validate the business rules
(zero or negative energy, a window already over, …) and their refusals show on the form.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from prepay.common.forms import PlainDecimalField

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class AdjustmentForm(forms.Form):
    """Energy (kWh / m³, loaded onto the meter) or money (signed: negative debits the balance)."""

    mode = forms.ChoiceField(
        label=_("Adjust"),
        choices=[("energy", _("Energy")), ("money", _("Money"))],
        initial="energy",
        widget=forms.RadioSelect,
    )
    value = PlainDecimalField(
        label=_("quantity"),
        max_digits=14,
        decimal_places=3,
        help_text=_("Energy in kWh or m³; money in yuan, negative to debit the balance."),
    )
    reason = forms.CharField(label=_("reason"), max_length=200)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=80)


def _local_input(**attrs: Any) -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local", **attrs}, format=DATETIME_LOCAL)


class ProtectSupplyForm(forms.Form):
    """A protection window (site wall clock) and why; the action refuses windows that make no sense."""

    starts_at = forms.DateTimeField(
        label=_("protected from"), input_formats=[DATETIME_LOCAL], widget=_local_input()
    )
    ends_at = forms.DateTimeField(
        label=_("protected until"), input_formats=[DATETIME_LOCAL], widget=_local_input()
    )
    reason = forms.CharField(label=_("reason"), max_length=200)

    @staticmethod
    def defaults() -> dict[str, Any]:
        """From now (to the minute) for a day: the usual case is "keep supply on today"."""
        now = timezone.localtime().replace(second=0, microsecond=0)
        return {"starts_at": now, "ends_at": now + timedelta(days=1)}
