"""Back office for meter models and meters.

Meter models are master data ("masterdata.change"). Meters are registered through
``do_register_meter`` and edited with "meter.stock"; status and CT/PT ratios are read-only once a
meter exists (they change only through actions: past readings depend on the ratios). The change
page offers the stock screens: mark faulty, return to stock, retire.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prepay.common.admin import LifecycleForm, ReadOnlyInline, ScopedHistoryAdmin, ScopedModelForm, Tool
from prepay.meters import actions
from prepay.meters.choices import MeterStatus
from prepay.meters.models import Installation, Meter, MeterModel
from prepay.tenancy.scoping import can


@admin.register(MeterModel)
class MeterModelAdmin(ScopedHistoryAdmin):
    list_display = [
        "code",
        "name",
        "manufacturer",
        "kind",
        "token_system",
        "has_keypad",
        "has_ic_card",
        "has_relay",
    ]
    list_filter = ["kind", "token_system"]
    search_fields = ["code", "name", "manufacturer"]


class MeterForm(ScopedModelForm):
    """The meter's group always follows its site."""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        site = data.get("site")
        if site is not None:
            self.instance.group_id = site.group_id
        return data


class ReasonForm(LifecycleForm):
    reason = forms.CharField(
        label=gettext_lazy("reason"), max_length=200, widget=forms.TextInput(attrs={"size": 60})
    )


class OptionalReasonForm(LifecycleForm):
    reason = forms.CharField(
        label=gettext_lazy("reason"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"size": 60}),
    )


class InstallationInline(ReadOnlyInline):
    model = Installation
    fk_name = "meter"
    fields = [
        "account",
        "unit",
        "started_at",
        "ended_at",
        "opening_reading",
        "closing_reading",
        "credit_carried_in",
        "credit_left",
        "end_reason",
    ]


@admin.register(Meter)
class MeterAdmin(ScopedHistoryAdmin):
    """Meters in stock and in the field; registered and kept by admins and clerks ("meter.stock")."""

    capability = "meter.stock"
    form = MeterForm
    list_display = ["serial", "model", "status", "site", "ct_ratio", "pt_ratio", "drn", "protocol"]
    list_filter = [
        "status",
        ("model", admin.RelatedOnlyFieldListFilter),
        ("site", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["serial", "drn", "installations__account__number"]
    list_select_related = ["model", "site"]
    inlines = [InstallationInline]
    fieldsets = (
        (None, {"fields": ("site", "serial", "model", "status", "ct_ratio", "pt_ratio")}),
        (
            gettext_lazy("STS"),
            {
                "fields": (
                    "drn",
                    "supply_group_code",
                    "tariff_index",
                    "key_revision",
                    "key_type",
                    "encryption_algorithm",
                    "base_date",
                )
            },
        ),
        (gettext_lazy("Communication"), {"fields": ("protocol", "comm_params")}),
    )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:  # a new meter is always in stock
            head = ("site", "serial", "model", "ct_ratio", "pt_ratio")
            return ((None, {"fields": head}),) + self.fieldsets[1:]
        return self.fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["site", "status", "ct_ratio", "pt_ratio"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        meter = actions.do_register_meter(
            site=obj.site,
            serial=obj.serial,
            model=obj.model,
            ct_ratio=obj.ct_ratio,
            pt_ratio=obj.pt_ratio,
            actor=request.user,
            **{f: getattr(obj, f) for f in actions.REGISTER_FIELDS},
        )
        obj.pk, obj._state.adding = meter.pk, False

    def get_tools(self, request: HttpRequest, obj: Any) -> list[Tool]:
        if not can(request.user, "meter.stock", group_id=obj.group_id, site_id=obj.site_id):
            return []
        tools = []
        if obj.status in (MeterStatus.IN_STOCK, MeterStatus.INSTALLED):
            tools.append(Tool(self.admin_url("faulty", obj.pk), _("Mark faulty")))
        if obj.status == MeterStatus.FAULTY:
            tools.append(Tool(self.admin_url("to_stock", obj.pk), _("Return to stock")))
        if obj.status in (MeterStatus.IN_STOCK, MeterStatus.FAULTY):
            tools.append(Tool(self.admin_url("retire", obj.pk), _("Retire")))
        return tools

    def get_urls(self) -> list[URLPattern]:
        return (
            self.lifecycle_urls(
                ("faulty", self.faulty_view), ("to-stock", self.to_stock_view), ("retire", self.retire_view)
            )
            + super().get_urls()
        )

    def faulty_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def run(meter: Meter, d: dict[str, Any]) -> Any:
            return actions.do_mark_meter_faulty(meter=meter, reason=d["reason"], actor=request.user)

        return self.lifecycle_view(
            request,
            object_id,
            form_class=ReasonForm,
            capability="meter.stock",
            title=_("Mark faulty"),
            run=run,
            success=_("Meter marked faulty."),
        )

    def to_stock_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def run(meter: Meter, d: dict[str, Any]) -> Any:
            return actions.do_return_meter_to_stock(meter=meter, reason=d["reason"], actor=request.user)

        return self.lifecycle_view(
            request,
            object_id,
            form_class=OptionalReasonForm,
            capability="meter.stock",
            title=_("Return to stock"),
            run=run,
            success=_("Meter returned to stock."),
        )

    def retire_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def run(meter: Meter, d: dict[str, Any]) -> Any:
            return actions.do_retire_meter(meter=meter, reason=d["reason"], actor=request.user)

        return self.lifecycle_view(
            request,
            object_id,
            form_class=ReasonForm,
            capability="meter.stock",
            title=_("Retire"),
            run=run,
            success=_("Meter retired."),
        )
