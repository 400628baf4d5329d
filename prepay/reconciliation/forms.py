"""Forms of the reconciliation screens: they parse what finance typed; the actions decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from prepay.common.forms import PlainDecimalField
from prepay.vending.models import PaymentMethod

DATE = forms.DateInput(attrs={"type": "date"})


class HandoverForm(forms.Form):
    """上缴: money deposited at the bank for the period's takings."""

    deposited_on = forms.DateField(label=_("deposited on"), widget=DATE)
    method = forms.ChoiceField(label=_("payment method"), choices=PaymentMethod.choices, initial="cash")
    amount = PlainDecimalField(label=_("amount"), max_digits=14, decimal_places=2)
    reference = forms.CharField(label=_("bank reference"), max_length=80)
    handed_over_by = forms.CharField(label=_("handed over by"), max_length=100)
    note = forms.CharField(label=_("note"), max_length=200, required=False)


class SignOffForm(forms.Form):
    """Finance's sign-off of a sheet; the note says why a difference remains."""

    note = forms.CharField(
        label=_("note"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Why the handover differs, if it does")}),
    )
