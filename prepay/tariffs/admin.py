"""Back office for tariffs: versioned master data ("masterdata.change"), group-wide or per site.

A tariff is edited in the structured editor (prepay.tariffs.views): tables for blocks, periods and
day schedules instead of raw JSON, checked by the engine's parser, with a preview of sample bills.
A version that priced sales or charges is kept; a change is saved as a new version from a date.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from prepay.common.admin import ScopedHistoryAdmin
from prepay.tariffs.models import CalendarDay, SiteTariff, Tariff
from prepay.tariffs.views import editor_view


@admin.register(Tariff)
class TariffAdmin(ScopedHistoryAdmin):
    list_display = [
        "code",
        "name",
        "utility",
        "kind",
        "unit_price",
        "vat_rate",
        "effective_from",
        "group",
        "site",
    ]
    list_filter = ["utility", "kind", ("site", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["code", "name"]
    list_select_related = ["group", "site"]
    date_hierarchy = "effective_from"

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        """The structured editor for a new tariff code."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        return editor_view(self, request, None, readonly=False)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        """The structured editor for one version (read-only for those who may only look); 404 outside
        the user's scope."""
        row = self.get_object(request, object_id)
        if not self.has_view_or_change_permission(request, row):
            raise PermissionDenied
        return editor_view(self, request, row, readonly=not self.has_change_permission(request, row))


@admin.register(SiteTariff)
class SiteTariffAdmin(ScopedHistoryAdmin):
    list_display = ["site", "customer_type", "utility", "tariff"]
    list_filter = ["utility", ("site", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["site", "customer_type", "tariff"]


@admin.register(CalendarDay)
class CalendarDayAdmin(ScopedHistoryAdmin):
    """The group's holidays and make-up workdays (节假日 / 调休) for time-of-use pricing."""

    list_display = ["day", "kind", "name", "group"]
    list_filter = ["kind"]
    search_fields = ["name"]
    list_select_related = ["group"]
    date_hierarchy = "day"
