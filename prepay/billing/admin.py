"""Back office for billing: settings and policies are master data edited through ``do_save_record``
(capability "fees.manage"); charges, bills, runs, states and jobs are read-only (actions write them)."""

from __future__ import annotations

from django.contrib import admin

from prepay.billing.models import (
    ApportionmentRun,
    ApportionmentShare,
    Bill,
    BillingJob,
    BillingSettings,
    Charge,
    FeeCharge,
    FeeSchedule,
    Household,
    ProtectedSupply,
    PublicMeterGroup,
    SubMeter,
    SupplyState,
    TierBasis,
    WarningPolicy,
)
from prepay.common.admin import ReadOnlyAdmin, ScopedAdmin


class _Setup(ScopedAdmin):
    capability = "fees.manage"


@admin.register(BillingSettings)
class BillingSettingsAdmin(_Setup):
    list_display = [
        "site",
        "level1",
        "level2",
        "overdraft",
        "cut_on_fee_arrears",
        "bill_due_days",
        "overdue_cut_days",
    ]


@admin.register(WarningPolicy)
class WarningPolicyAdmin(_Setup):
    list_display = [
        "group",
        "site",
        "customer_type",
        "meter_kind",
        "account",
        "unit",
        "level1",
        "level2",
        "overdraft",
    ]
    list_filter = ["unit", "meter_kind"]
    raw_id_fields = ["account"]


@admin.register(FeeSchedule)
class FeeScheduleAdmin(_Setup):
    list_display = [
        "name",
        "kind",
        "amount",
        "frequency",
        "unit",
        "account",
        "starts_on",
        "ends_on",
        "active",
    ]
    list_filter = ["kind", "frequency", "active", ("site", admin.RelatedOnlyFieldListFilter)]
    raw_id_fields = ["unit", "account"]


@admin.register(PublicMeterGroup)
class PublicMeterGroupAdmin(_Setup):
    list_display = ["name", "site", "utility", "method", "price", "active"]
    filter_horizontal = ["meters", "units"]


@admin.register(SubMeter)
class SubMeterAdmin(_Setup):
    list_display = ["meter", "master", "loss_threshold"]
    raw_id_fields = ["meter", "master"]


@admin.register(TierBasis)
class TierBasisAdmin(_Setup):
    capability = "masterdata.change"
    list_display = ["tariff", "per_person"]


@admin.register(Household)
class HouseholdAdmin(_Setup):
    list_display = ["account", "persons"]
    raw_id_fields = ["account"]


@admin.register(Charge)
class ChargeAdmin(ReadOnlyAdmin):
    list_display = ["account", "meter", "period_start", "period_end", "energy", "amount", "vat", "flags"]
    list_filter = [("account__site", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["account__number", "meter__serial"]
    list_select_related = ["account", "meter"]
    date_hierarchy = "period_start"


@admin.register(FeeCharge)
class FeeChargeAdmin(ReadOnlyAdmin):
    list_display = ["schedule", "account", "period", "amount"]
    search_fields = ["account__number"]


@admin.register(Bill)
class BillAdmin(ReadOnlyAdmin):
    list_display = ["number", "account", "period_start", "period_end", "amount", "due_date", "settled_at"]
    search_fields = ["number", "account__number"]
    date_hierarchy = "period_start"


@admin.register(SupplyState)
class SupplyStateAdmin(ReadOnlyAdmin):
    list_display = ["account", "level", "cut", "reminder_done", "suppressed", "updated_at"]
    list_filter = ["level", "cut"]
    search_fields = ["account__number"]


@admin.register(ProtectedSupply)
class ProtectedSupplyAdmin(ReadOnlyAdmin):
    list_display = ["account", "starts_at", "ends_at", "reason", "cancelled_at", "created_by"]
    search_fields = ["account__number", "reason"]


@admin.register(ApportionmentRun)
class ApportionmentRunAdmin(ReadOnlyAdmin):
    list_display = ["public_group", "period_start", "period_end", "method", "total_energy", "price"]


@admin.register(ApportionmentShare)
class ApportionmentShareAdmin(ReadOnlyAdmin):
    list_display = ["run", "unit", "account", "basis", "fraction", "energy", "amount"]


@admin.register(BillingJob)
class BillingJobAdmin(ReadOnlyAdmin):
    list_display = [
        "kind",
        "site",
        "period_start",
        "status",
        "done",
        "total",
        "attempts",
        "claimed_by",
        "finished_at",
    ]
    list_filter = ["kind", "status"]
