"""Back office for premises, customer types, customers and accounts.

Buildings, units and customer types are master data ("masterdata.change"); customers are kept by
clerks ("customer.change", created through ``do_create_customer``). Accounts are read-only here:
their lifecycle (open, assign / replace meter, transfer, close) runs through the screens below,
each calling exactly one action.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prepay.common.admin import LifecycleForm, ReadOnlyInline, ScopedHistoryAdmin, Tool
from prepay.common.forms import CodeField, PlainDecimalField
from prepay.customers import actions
from prepay.customers.choices import AccountMode, AccountStatus, BillingMode, Utility
from prepay.customers.models import Account, Building, Customer, CustomerType, Unit
from prepay.meters import actions as meter_actions
from prepay.meters.models import Installation, Meter
from prepay.tariffs.models import Tariff
from prepay.tenancy.scoping import can
from prepay.vending import ledger, lifecycle
from prepay.vending.models import LedgerEntry

SITE_FILTER = ("site", admin.RelatedOnlyFieldListFilter)
READING = {"max_digits": 14, "decimal_places": 3, "min_value": Decimal("0")}


# --------------------------------------------------------------------------------------------------
# Master data
# --------------------------------------------------------------------------------------------------


@admin.register(Building)
class BuildingAdmin(ScopedHistoryAdmin):
    list_display = ["code", "name", "site", "floors"]
    list_filter = [SITE_FILTER]
    search_fields = ["code", "name"]
    list_select_related = ["site"]


@admin.register(Unit)
class UnitAdmin(ScopedHistoryAdmin):
    list_display = ["__str__", "number", "floor", "area", "building"]
    list_filter = [
        ("building__site", admin.RelatedOnlyFieldListFilter),
        ("building", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["number", "building__name", "building__code"]
    list_select_related = ["building"]
    fk_capabilities = {"building": "masterdata.change"}


@admin.register(CustomerType)
class CustomerTypeAdmin(ScopedHistoryAdmin):
    list_display = ["code", "name", "group", "default_electricity_tariff", "default_water_tariff"]
    search_fields = ["code", "name"]
    list_select_related = ["group", "default_electricity_tariff", "default_water_tariff"]


# --------------------------------------------------------------------------------------------------
# Customers
# --------------------------------------------------------------------------------------------------


class OpenAccountForm(LifecycleForm):
    """开户: a unit at the customer's site, utility, fee control, billing and an optional tariff."""

    unit = forms.ModelChoiceField(Unit.objects.none(), label=gettext_lazy("unit"))
    utility = forms.ChoiceField(choices=Utility.choices, label=gettext_lazy("utility"))
    mode = forms.ChoiceField(choices=AccountMode.choices, label=gettext_lazy("fee control"))
    billing = forms.ChoiceField(choices=BillingMode.choices, label=gettext_lazy("billing"))
    tariff = forms.ModelChoiceField(
        Tariff.objects.none(),
        required=False,
        label=gettext_lazy("tariff override"),
        help_text=gettext_lazy("Empty: the customer type's default tariff."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        site = self.obj.site
        self.fields["unit"].queryset = (  # type: ignore[attr-defined]
            Unit.objects.for_user(self.user).filter(building__site=site).select_related("building")
        )
        self.fields["tariff"].queryset = Tariff.objects.for_user(self.user).filter(group_id=site.group_id)  # type: ignore[attr-defined]


@admin.register(Customer)
class CustomerAdmin(ScopedHistoryAdmin):
    """Customers: clerks register and edit them; "Open account" starts the account lifecycle."""

    capability = "customer.change"
    list_display = ["number", "name", "phone", "customer_type", "site", "created_at"]
    list_filter = [SITE_FILTER, ("customer_type", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["number", "name", "phone", "id_number", "accounts__number"]
    list_select_related = ["site", "customer_type"]
    fields = ["site", "number", "name", "customer_type", "phone", "id_number", "email", "address", "language"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["site"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        customer = actions.do_create_customer(
            site=obj.site,
            number=obj.number,
            name=obj.name,
            customer_type=obj.customer_type,
            actor=request.user,
            phone=obj.phone,
            id_number=obj.id_number,
            email=obj.email,
            address=obj.address,
            language=obj.language,
        )
        obj.pk, obj._state.adding = customer.pk, False

    def get_tools(self, request: HttpRequest, obj: Any) -> list[Tool]:
        if can(request.user, "account.lifecycle", group_id=obj.site.group_id, site_id=obj.site_id):
            return [Tool(self.admin_url("open_account", obj.pk), _("Open account"))]
        return []

    def get_urls(self) -> list[URLPattern]:
        return self.lifecycle_urls(("open-account", self.open_account_view)) + super().get_urls()

    def open_account_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def run(customer: Customer, d: dict[str, Any]) -> Account:
            return actions.do_open_account(
                customer=customer,
                unit=d["unit"],
                utility=d["utility"],
                mode=d["mode"],
                billing=d["billing"],
                tariff=d["tariff"],
                actor=request.user,
            )

        return self.lifecycle_view(
            request,
            object_id,
            form_class=OpenAccountForm,
            capability="account.lifecycle",
            title=_("Open account"),
            run=run,
            success=_("Account opened."),
            done=lambda _c, account: self.admin_site_url("customers_account_change", account.pk),
        )

    def admin_site_url(self, name: str, *args: Any) -> str:
        from django.urls import reverse

        return reverse(f"admin:{name}", args=args, current_app=self.admin_site.name)


# --------------------------------------------------------------------------------------------------
# Accounts
# --------------------------------------------------------------------------------------------------


def find_meter(form: LifecycleForm, serial: str) -> Meter:
    """The meter with ``serial`` in the account's group that the user may see (else a form error)."""
    meter = (
        Meter.objects.for_user(form.user)
        .filter(group_id=form.obj.site.group_id, serial=serial.strip())
        .first()
    )
    if meter is None:
        raise forms.ValidationError(_("No meter with serial number %(s)s.") % {"s": serial})
    return meter


class AssignMeterForm(LifecycleForm):
    """配表: a meter from stock (by serial number) and its opening reading."""

    meter = CodeField(label=gettext_lazy("meter serial number"), max_length=32)
    opening_reading = PlainDecimalField(label=gettext_lazy("opening reading"), **READING)  # type: ignore[arg-type]

    def clean_meter(self) -> Meter:
        return find_meter(self, self.cleaned_data["meter"])


class ReplaceMeterForm(LifecycleForm):
    """换表: the old meter's closing reading and remaining credit, the new meter and its reading."""

    old_closing_reading = PlainDecimalField(label=gettext_lazy("old meter closing reading"), **READING)  # type: ignore[arg-type]
    remaining_credit = PlainDecimalField(
        label=gettext_lazy("credit left on the old meter"),
        initial=Decimal("0"),
        **READING,  # type: ignore[arg-type]
        help_text=gettext_lazy("kWh or m³, carried to the new meter."),
    )
    new_meter = CodeField(label=gettext_lazy("new meter serial number"), max_length=32)
    new_opening_reading = PlainDecimalField(label=gettext_lazy("new meter opening reading"), **READING)  # type: ignore[arg-type]
    reason = forms.CharField(label=gettext_lazy("reason"), max_length=200, required=False)
    old_meter_faulty = forms.BooleanField(
        label=gettext_lazy("the old meter is faulty"), required=False, initial=True
    )

    def clean_new_meter(self) -> Meter:
        return find_meter(self, self.cleaned_data["new_meter"])


class TransferForm(LifecycleForm):
    """过户: the new owner (customer number at the same site), the hand-over reading, refund or not."""

    new_customer = CodeField(label=gettext_lazy("new customer number"), max_length=32)
    reading = PlainDecimalField(label=gettext_lazy("meter reading at hand-over"), **READING)  # type: ignore[arg-type]
    refund_balance = forms.BooleanField(
        label=gettext_lazy("refund the balance to the previous owner"), required=False, initial=True
    )

    def clean_new_customer(self) -> Customer:
        number = self.cleaned_data["new_customer"].strip()
        customer = (
            Customer.objects.for_user(self.user).filter(site_id=self.obj.site_id, number=number).first()
        )
        if customer is None:
            raise forms.ValidationError(_("No customer with number %(n)s at this site.") % {"n": number})
        return customer


class CloseAccountForm(LifecycleForm):
    """销户: final reading and the credit still on a local-control meter."""

    final_reading = PlainDecimalField(label=gettext_lazy("final reading"), **READING)  # type: ignore[arg-type]
    remaining_credit = PlainDecimalField(
        label=gettext_lazy("credit left on the meter"),
        initial=Decimal("0"),
        **READING,  # type: ignore[arg-type]
        help_text=gettext_lazy("kWh or m³; returned to the account, then the balance is refunded."),
    )


class InstallationInline(ReadOnlyInline):
    model = Installation
    fk_name = "account"
    fields = [
        "meter",
        "started_at",
        "ended_at",
        "opening_reading",
        "closing_reading",
        "credit_carried_in",
        "credit_left",
        "end_reason",
    ]


class LedgerInline(ReadOnlyInline):
    model = LedgerEntry
    fields = ["seq", "created_at", "kind", "amount", "balance_after", "energy", "memo", "created_by"]
    ordering = ["-seq"]
    verbose_name_plural = gettext_lazy("ledger (newest first)")


@admin.register(Account)
class AccountAdmin(ScopedHistoryAdmin):
    """Accounts: read-only; the lifecycle buttons call the actions."""

    list_display = ["number", "customer", "unit", "utility", "mode", "status", "opened_at", "balance"]
    list_filter = ["status", "utility", "mode", SITE_FILTER]
    search_fields = [
        "number",
        "customer__number",
        "customer__name",
        "customer__phone",
        "unit__number",
        "installations__meter__serial",
    ]
    list_select_related = ["customer", "unit__building", "site"]
    inlines = [InstallationInline, LedgerInline]
    actions = None

    @admin.display(description=gettext_lazy("balance"))
    def balance(self, obj: Account) -> Decimal:
        return ledger.balance_of(obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f.name for f in Account._meta.fields] + ["balance"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_tools(self, request: HttpRequest, obj: Any) -> list[Tool]:
        if obj.status == AccountStatus.CLOSED or not can(
            request.user, "account.lifecycle", group_id=obj.site.group_id, site_id=obj.site_id
        ):
            return []
        has_meter = obj.installations.filter(ended_at__isnull=True).exists()
        tools = (
            [Tool(self.admin_url("replace_meter", obj.pk), _("Replace meter"))]
            if has_meter
            else [Tool(self.admin_url("assign_meter", obj.pk), _("Assign meter"))]
        )
        return tools + [
            Tool(self.admin_url("transfer", obj.pk), _("Transfer ownership")),
            Tool(self.admin_url("close", obj.pk), _("Close account")),
        ]

    def get_urls(self) -> list[URLPattern]:
        return (
            self.lifecycle_urls(
                ("assign-meter", self.assign_meter_view),
                ("replace-meter", self.replace_meter_view),
                ("transfer", self.transfer_view),
                ("close", self.close_view),
            )
            + super().get_urls()
        )

    def assign_meter_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def run(account: Account, d: dict[str, Any]) -> Any:
            return meter_actions.do_assign_meter(
                account=account, meter=d["meter"], opening_reading=d["opening_reading"], actor=request.user
            )

        return self.lifecycle_view(
            request,
            object_id,
            form_class=AssignMeterForm,
            capability="account.lifecycle",
            title=_("Assign meter"),
            run=run,
            success=_("Meter assigned."),
        )

    def replace_meter_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def run(account: Account, d: dict[str, Any]) -> Any:
            return meter_actions.do_replace_meter(
                account=account,
                new_meter=d["new_meter"],
                old_closing_reading=d["old_closing_reading"],
                remaining_credit=d["remaining_credit"],
                new_opening_reading=d["new_opening_reading"],
                reason=d["reason"],
                old_meter_faulty=d["old_meter_faulty"],
                actor=request.user,
            )

        return self.lifecycle_view(
            request,
            object_id,
            form_class=ReplaceMeterForm,
            capability="account.lifecycle",
            title=_("Replace meter"),
            run=run,
            success=_("Meter replaced."),
        )

    def transfer_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def run(account: Account, d: dict[str, Any]) -> Any:
            return lifecycle.do_transfer_account(
                account=account,
                new_customer=d["new_customer"],
                reading=d["reading"],
                refund_balance=d["refund_balance"],
                idempotency_key=d["idempotency_key"] or None,
                actor=request.user,
            )

        return self.lifecycle_view(
            request,
            object_id,
            form_class=TransferForm,
            capability="account.lifecycle",
            title=_("Transfer ownership"),
            run=run,
            success=_("Ownership transferred."),
        )

    def close_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def run(account: Account, d: dict[str, Any]) -> Any:
            return lifecycle.do_close_account(
                account=account,
                final_reading=d["final_reading"],
                remaining_credit=d["remaining_credit"],
                idempotency_key=d["idempotency_key"] or None,
                actor=request.user,
            )

        return self.lifecycle_view(
            request,
            object_id,
            form_class=CloseAccountForm,
            capability="account.lifecycle",
            title=_("Close account"),
            run=run,
            success=_("Account closed."),
        )
