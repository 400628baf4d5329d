"""Back office for the ledger and vends: read-only lists for anyone who may see the account.

Money moves only through vending and lifecycle actions; these pages never write. Vending points are
master data, edited by administrators (their receipt counters never).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from prepay.common.admin import ReadOnlyAdmin, ScopedAdmin
from prepay.vending.models import LedgerEntry, Vend, VendingPoint


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "account",
        "seq",
        "created_at",
        "kind",
        "amount",
        "balance_after",
        "energy",
        "memo",
        "created_by",
    ]
    list_filter = ["kind", ("account__site", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["account__number", "account__customer__name", "memo"]
    list_select_related = ["account", "created_by"]
    date_hierarchy = "created_at"


@admin.register(Vend)
class VendAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "account", "meter", "amount", "energy", "status", "created_by"]
    list_filter = ["status", ("account__site", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["account__number", "account__customer__name", "meter__serial"]
    list_select_related = ["account", "meter", "created_by"]
    date_hierarchy = "created_at"


@admin.register(VendingPoint)
class VendingPointAdmin(ScopedAdmin):
    """Vending points (counters, agents, online channels), set up by administrators: receipt prefix,
    float and credit limit, and the counter's thermal receipt printer (network host:port, a USB
    device file on the server, or USB at the counter PC through the card bridge) with its paper width.
    The receipt counter is never edited here."""

    list_display = [
        "code",
        "name",
        "site",
        "kind",
        "receipt_prefix",
        "printer_connection",
        "printer",
        "active",
    ]
    list_filter = ["kind", "active", ("site", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["code", "name", "receipt_prefix"]
    list_select_related = ["site"]
    fieldsets = [
        (None, {"fields": ["site", "code", "name", "kind", "active", "receipt_prefix"]}),
        (gettext_lazy("Agent float"), {"fields": ["uses_float", "credit_limit"]}),
        (gettext_lazy("Receipt printer"), {"fields": ["printer_connection", "printer", "paper_width"]}),
    ]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # receipts and shifts refer to their point: deactivate it instead
