"""Back office for the analysis: a site's thresholds and the meters' energy items are master data,
edited by the site's admin through ``do_save_record`` (validated, audited); runs are read-only."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from prepay.analytics.models import AnalysisRun, AnalyticsSettings, MeterClassification
from prepay.common.admin import ReadOnlyAdmin, ScopedAdmin


@admin.register(AnalyticsSettings)
class AnalyticsSettingsAdmin(ScopedAdmin):
    capability = "masterdata.change"
    list_display = [
        "site",
        "flag_score",
        "recent_days",
        "baseline_days",
        "low_drop_percent",
        "low_days",
        "zero_days",
    ]
    fieldsets = [
        (None, {"fields": ["site", "flag_score"]}),
        (_("Windows"), {"fields": ["recent_days", "baseline_days", "lookback_days", "min_history_days"]}),
        (
            _("Use"),
            {
                "fields": [
                    "low_drop_percent",
                    "low_days",
                    "min_baseline_kwh",
                    "robust_z",
                    "peer_drop_percent",
                    "peer_min_accounts",
                    "size_bands",
                    "near_zero_kwh",
                    "zero_days",
                ]
            },
        ),
        (
            _("Register"),
            {"fields": ["bypass_min_kwh", "backwards_min_kwh", "jump_factor", "jump_min_kwh"]},
        ),
        (
            _("Events, tokens and feedback"),
            {
                "fields": [
                    "tamper_count",
                    "tamper_window_days",
                    "offline_days",
                    "token_days",
                    "token_window_days",
                    "token_rise_percent",
                    "false_alarm_days",
                    "false_alarm_percent",
                ]
            },
        ),
    ]


@admin.register(MeterClassification)
class MeterClassificationAdmin(ScopedAdmin):
    capability = "masterdata.change"
    list_display = ["meter", "item", "area_kind", "building", "floor", "unit", "label"]
    list_filter = ["item", "area_kind"]
    raw_id_fields = ["meter", "unit"]
    search_fields = ["meter__serial", "label"]


@admin.register(AnalysisRun)
class AnalysisRunAdmin(ReadOnlyAdmin):
    list_display = [
        "site",
        "day",
        "status",
        "meters",
        "scored",
        "flagged",
        "started_at",
        "finished_at",
        "error",
    ]
    list_filter = ["status"]
