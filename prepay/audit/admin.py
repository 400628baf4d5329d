"""Back office for the audit log: read-only, only for holders of "audit.view".

The table is append-only (database triggers refuse UPDATE and DELETE); nobody adds, changes or
deletes events here, not even superusers.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from prepay.audit.models import AuditEvent
from prepay.common.admin import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    view_capability = "audit.view"
    list_display = ["id", "chain", "seq", "created_at", "actor_name", "verb", "object_repr", "site"]
    list_filter = [
        "verb",
        ("site", admin.RelatedOnlyFieldListFilter),
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = ["verb", "object_repr", "object_id", "actor_name"]
    list_select_related = ["site"]
    date_hierarchy = "created_at"
    fields = [
        "chain",
        "seq",
        "created_at",
        "actor",
        "actor_name",
        "group",
        "site",
        "verb",
        "object_type",
        "object_id",
        "object_repr",
        "before",
        "after",
        "prev_hash",
        "hash",
        "txn",
        "mac_key",
        "mac",
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields
