"""Back office for STS tokens: read-only. Vending keys show their slot, never key material.

Keys are imported with ``prepay keys import`` and tokens are issued by vending and clerk actions.
"""

from __future__ import annotations

from django.contrib import admin

from prepay.common.admin import ReadOnlyAdmin
from prepay.tokens.models import IssuedToken, KeyChange, VendingKey


@admin.register(VendingKey)
class VendingKeyAdmin(ReadOnlyAdmin):
    view_capability = "keys.manage"
    # ``nonce`` and ``ciphertext`` are deliberately absent: not even the encrypted key is shown.
    fields = [
        "group",
        "label",
        "dkga",
        "supply_group_code",
        "key_revision",
        "key_type",
        "store_key_id",
        "created_at",
    ]
    list_display = ["label", "group", "dkga", "supply_group_code", "key_revision", "key_type", "store_key_id"]
    search_fields = ["label", "supply_group_code"]


@admin.register(IssuedToken)
class IssuedTokenAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "meter",
        "kind",
        "subclass",
        "tid",
        "__str__",
        "amount",
        "reason",
        "created_by",
    ]
    list_filter = ["kind", ("meter__site", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["meter__serial", "token", "reason"]
    list_select_related = ["meter", "created_by"]
    date_hierarchy = "created_at"


@admin.register(KeyChange)
class KeyChangeAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "meter", "old", "new", "rollover", "reason", "created_by"]
    search_fields = ["meter__serial", "reason"]
    list_select_related = ["meter", "created_by"]
