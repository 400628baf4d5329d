"""Forms of the counter and clerk screens.

The account lifecycle forms (open, assign, replace, transfer, close) are the back office's own
(prepay/customers/admin.py): one definition, one set of labels and translations for both screens.
Each form only parses and scopes; the action it feeds validates the business rules.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from prepay.common.amounts import parse_amount
from prepay.common.errors import ActionError
from prepay.common.forms import PlainDecimalField
from prepay.customers.admin import (
    AssignMeterForm,
    CloseAccountForm,
    OpenAccountForm,
    ReplaceMeterForm,
    TransferForm,
)
from prepay.customers.models import CustomerType
from prepay.tenancy.models import Site
from prepay.tokens.actions import MANAGEMENT
from prepay.vending.models import PaymentMethod, PointKind, VendingPoint

__all__ = [
    "AssignMeterForm",
    "CloseAccountForm",
    "CloseShiftForm",
    "CustomerForm",
    "DecisionForm",
    "KeyChangeForm",
    "ManagementTokenForm",
    "OpenAccountForm",
    "OpenShiftForm",
    "RefundRequestForm",
    "ReplaceMeterForm",
    "RelayCommandForm",
    "ReversalRequestForm",
    "SellForm",
    "TransferForm",
    "new_key",
]


def new_key(prefix: str = "counter") -> str:
    """A fresh idempotency key, generated when a form is rendered (a re-submit reuses it)."""
    return f"{prefix}-{uuid.uuid4().hex}"


class CustomerForm(forms.Form):
    """Register a customer at one of the sites where the user may (``customer.change``)."""

    site = forms.ModelChoiceField(queryset=Site.objects.none(), label=_("site"))
    number = forms.CharField(label=_("customer number"), max_length=32)
    name = forms.CharField(label=_("name"), max_length=200)
    customer_type = forms.ModelChoiceField(queryset=CustomerType.objects.none(), label=_("customer type"))
    phone = forms.CharField(label=_("phone"), max_length=32, required=False)
    id_number = forms.CharField(label=_("ID / licence number"), max_length=40, required=False)
    email = forms.EmailField(label=_("email"), required=False)
    address = forms.CharField(label=_("address"), max_length=300, required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        sites = Site.objects.for_user(user, "customer.change").select_related("group")
        self.fields["site"].queryset = sites  # type: ignore[attr-defined]
        self.fields["customer_type"].queryset = CustomerType.objects.for_user(user).filter(  # type: ignore[attr-defined]
            group__in=sites.values("group")
        )
        if sites.count() == 1:
            self.fields["site"].initial = sites.first()


class ManagementTokenForm(forms.Form):
    """A class 2 management token (clear credit, clear tamper, …) with a reason."""

    kind = forms.ChoiceField(
        label=_("token"),
        choices=[
            ("clear_credit", _("Clear credit")),
            ("clear_tamper", _("Clear tamper")),
            ("max_power", _("Set maximum power")),
            ("phase_unbalance", _("Set phase unbalance limit")),
            ("tariff_rate", _("Set tariff rate")),
            ("water_factor", _("Set water meter factor")),
        ],
    )
    value = forms.IntegerField(label=_("value"), min_value=0, initial=0)
    reason = forms.CharField(label=_("reason"), max_length=200)

    def clean_kind(self) -> str:
        kind: str = self.cleaned_data["kind"]
        assert kind in MANAGEMENT  # the choices above are a subset of the engine's
        return kind


class KeyChangeForm(forms.Form):
    """New key parameters for a meter (empty: unchanged); the key-change tokens are printed after."""

    PARAMETERS = ("supply_group_code", "tariff_index", "key_revision", "key_type", "base_date")

    supply_group_code = forms.CharField(label=_("supply group code"), max_length=6, required=False)
    tariff_index = forms.CharField(label=_("tariff index"), max_length=2, required=False)
    key_revision = forms.IntegerField(label=_("key revision"), min_value=1, max_value=9, required=False)
    key_type = forms.IntegerField(label=_("key type"), min_value=0, max_value=3, required=False)
    base_date = forms.TypedChoiceField(
        label=_("base date"),
        choices=[("", "—"), ("1993", "1993"), ("2014", "2014"), ("2035", "2035")],
        coerce=int,
        empty_value=None,
        required=False,
    )
    ken = forms.IntegerField(label=_("key expiry number"), min_value=0, max_value=255, initial=255)
    reason = forms.CharField(label=_("reason"), max_length=200)


# --------------------------------------------------------------------------------------------------
# The vending counter
# --------------------------------------------------------------------------------------------------

MONEY: dict[str, Any] = {"max_digits": 12, "decimal_places": 2}


class SellForm(forms.Form):
    """One purchase: the account, money or energy, how it is paid, the key fixed when rendered."""

    account = forms.IntegerField(widget=forms.HiddenInput)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=80)
    mode = forms.ChoiceField(
        label=_("Sell by"),
        choices=[("money", _("Money")), ("energy", _("Energy"))],
        initial="money",
        widget=forms.RadioSelect,
    )
    value = forms.CharField(label=_("Amount"), max_length=40)
    method = forms.ChoiceField(label=_("payment method"), choices=PaymentMethod.choices, initial="cash")
    reference = forms.CharField(label=_("payment reference"), max_length=80, required=False)

    def clean(self) -> dict[str, Any]:
        """The value is money (2 places) or energy (3 places) by the mode; its refusal (not a plain
        number, below one fen, …) is shown next to the amount, in the words the sale itself uses."""
        data = super().clean() or self.cleaned_data
        raw, mode = data.get("value"), data.get("mode")
        if raw is not None and mode:
            money = mode == "money"
            places = 2 if money else 3
            try:
                data["value"] = parse_amount(
                    raw, gettext("The amount") if money else gettext("The energy"), places=places
                )
            except ActionError:
                what = gettext("The amount") if money else self._quantity_word(data.get("account"))
                try:
                    parse_amount(raw, what, places=places)
                except ActionError as exc:
                    self.add_error("value", str(exc.message))
        return data

    @staticmethod
    def _quantity_word(account_id: Any) -> str:
        """What a sale by quantity buys, in the refusal's words: water for a water account (read only
        when the value is refused, so a good sale costs no query)."""
        from prepay.customers.choices import Utility
        from prepay.customers.models import Account

        utility = Account.objects.filter(pk=account_id).values_list("utility", flat=True).first()
        return gettext("The water volume") if utility == Utility.WATER else gettext("The energy")

    def purchase(self) -> dict[str, Any]:
        """``amount=`` or ``energy=`` for quote_vend / do_vend."""
        d = self.cleaned_data
        return {"amount": d["value"]} if d["mode"] == "money" else {"energy": d["value"]}


class OpenShiftForm(forms.Form):
    point = forms.ModelChoiceField(queryset=VendingPoint.objects.none(), label=_("vending point"))
    opening_float = PlainDecimalField(
        label=_("opening cash float"), min_value=Decimal("0"), initial=0, **MONEY
    )  # type: ignore[arg-type]

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        points = VendingPoint.objects.for_user(user, "vend.sell").filter(kind=PointKind.COUNTER, active=True)
        self.fields["point"].queryset = points  # type: ignore[attr-defined]
        if points.count() == 1:
            self.fields["point"].initial = points.first()


class CloseShiftForm(forms.Form):
    """The money counted in the drawer per payment method (cash-up, 扎帐)."""

    note = forms.CharField(label=_("note"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for value, label in PaymentMethod.choices:
            self.fields[f"declared_{value}"] = PlainDecimalField(
                label=label,
                min_value=Decimal("0"),
                initial=0,
                **MONEY,
            )

    def declared(self) -> dict[str, Decimal]:
        return {m: self.cleaned_data[f"declared_{m}"] for m in PaymentMethod.values}


class ReversalRequestForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=200)
    token_entered = forms.TypedChoiceField(
        label=_("Was the token entered into the meter?"),
        choices=[("no", _("No")), ("yes", _("Yes"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=80)


class RefundRequestForm(forms.Form):
    amount = PlainDecimalField(label=_("amount"), min_value=Decimal("0.01"), **MONEY)
    method = forms.ChoiceField(label=_("paid back by"), choices=PaymentMethod.choices, initial="cash")
    reason = forms.CharField(label=_("reason"), max_length=200)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=80)


class DecisionForm(forms.Form):
    note = forms.CharField(label=_("note"), max_length=200, required=False)


class RelayCommandForm(forms.Form):
    """Remote trip (cut supply) or close (restore) with the reason, for a networked meter; a water
    meter's valve is closed (cut water) or opened (``water=True``)."""

    kind = forms.ChoiceField(
        label=_("command"), choices=[("trip", _("Trip (cut supply)")), ("close", _("Close (restore supply)"))]
    )
    reason = forms.CharField(label=_("reason"), max_length=200)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=80)

    def __init__(self, *args: Any, water: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if water:
            self.fields["kind"].choices = [  # type: ignore[attr-defined]
                ("trip", _("Close the valve (cut water)")),
                ("close", _("Open the valve (restore water)")),
            ]
