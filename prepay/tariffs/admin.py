"""Back office for tariffs: versioned master data ("masterdata.change"), group-wide or per site."""

from __future__ import annotations

from django.contrib import admin

from prepay.common.admin import ScopedHistoryAdmin
from prepay.tariffs.models import CalendarDay, SiteTariff, Tariff


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
