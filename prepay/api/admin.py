"""API clients in the back office: read-only (create and revoke with `prepay apikey`, audited)."""

from __future__ import annotations

from django.contrib import admin

from prepay.api.models import ApiClient
from prepay.common.admin import ReadOnlyAdmin


@admin.register(ApiClient)
class ApiClientAdmin(ReadOnlyAdmin):
    list_display = ["name", "group", "site", "prefix", "scopes", "point", "active", "last_used_at"]
    list_filter = ["active", ("group", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "prefix"]
    list_select_related = ["group", "site", "point"]
    exclude = ["salt", "key_hash"]
