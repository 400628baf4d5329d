from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from prepay.notify.models import ChannelKind

#: the amounts offered as one-tap buttons (yuan)
PRESETS = ("20", "50", "100", "200")


class SignInForm(forms.Form):
    identifier = forms.CharField(
        label=_("Account number or meter number"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "username", "inputmode": "text", "autofocus": True}),
    )
    via = forms.ChoiceField(
        label=_("Send the code by"),
        choices=[(ChannelKind.SMS, _("SMS to my phone")), (ChannelKind.EMAIL, _("E-mail"))],
        initial=ChannelKind.SMS,
        widget=forms.RadioSelect,
    )


class CodeForm(forms.Form):
    identifier = forms.CharField(max_length=40, widget=forms.HiddenInput)
    code = forms.CharField(
        label=_("Sign-in code"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "pattern": "[0-9 ]*",
            }
        ),
    )


class BuyForm(forms.Form):
    """The amount and the way to pay; ``request_key`` makes a double submit harmless."""

    amount = forms.CharField(
        label=_("Amount (yuan)"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    provider = forms.TypedChoiceField(label=_("Pay with"), coerce=int, widget=forms.RadioSelect)
    request_key = forms.CharField(max_length=64, widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, providers: list[Any], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("request_key", secrets.token_urlsafe(24))
        super().__init__(*args, **kwargs)
        field = self.fields["provider"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(p.pk, p.name) for p in providers]
        if providers:
            self.fields["provider"].initial = providers[0].pk
        self.providers = {p.pk: p for p in providers}
