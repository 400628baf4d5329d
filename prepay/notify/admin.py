"""Back office for notifications: channels and templates (capability "fees.manage"); sent messages
are read-only with their delivery status."""

from __future__ import annotations

from django.contrib import admin

from prepay.common.admin import ReadOnlyAdmin, ScopedAdmin
from prepay.notify.models import Channel, Notification, Template


@admin.register(Channel)
class ChannelAdmin(ScopedAdmin):
    capability = "fees.manage"
    list_display = ["name", "kind", "group", "site", "enabled"]


@admin.register(Template)
class TemplateAdmin(ScopedAdmin):
    capability = "fees.manage"
    list_display = ["key", "language", "group", "subject"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "account", "key", "language", "recipient", "status", "attempts", "error"]
    list_filter = ["status", "key"]
    search_fields = ["account__number", "recipient"]
    date_hierarchy = "created_at"
