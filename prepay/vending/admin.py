"""Back office for the ledger and vends: read-only lists for anyone who may see the account.

Money moves only through vending and lifecycle actions; these pages never write.
"""

from __future__ import annotations

from django.contrib import admin

from prepay.common.admin import ReadOnlyAdmin
from prepay.vending.models import LedgerEntry, Vend


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
