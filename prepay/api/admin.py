"""API clients in the back office: read-only rows (create and revoke with `prepay apikey`, audited),
with one screen to change the vending point a client sells as (``do_set_api_client_point``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prepay.api.actions import do_set_api_client_point
from prepay.api.models import ApiClient
from prepay.common.admin import LifecycleForm, ReadOnlyAdmin, Tool
from prepay.tenancy.scoping import can
from prepay.vending.models import VendingPoint


class PointForm(LifecycleForm):
    """The vending point a client sells as: the points of its group the user may see (the action
    refuses one of another site for a site-bound client, with its message on the form)."""

    point = forms.ModelChoiceField(
        label=gettext_lazy("sells as vending point"),
        queryset=VendingPoint.objects.none(),
        required=False,
        help_text=gettext_lazy(
            "A client bound to a site sells only as a point of that site. Empty: no point (lookups only)."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["point"]
        field.queryset = (
            VendingPoint.objects.for_user(self.user)
            .filter(site__group_id=self.obj.group_id)
            .select_related("site")
            .order_by("site__code", "code")
        )
        field.label_from_instance = lambda p: f"{p.site.code} / {p.code} — {p.name}"
        field.initial = self.obj.point_id


@admin.register(ApiClient)
class ApiClientAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "group",
        "site",
        "prefix",
        "scopes",
        "point",
        "created_by",
        "active",
        "last_used_at",
    ]
    list_filter = ["active", ("group", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "prefix"]
    list_select_related = ["group", "site", "point", "created_by"]
    exclude = ["salt", "key_hash"]
    readonly_fields = ["created_by"]

    def get_tools(self, request: HttpRequest, obj: Any) -> list[Tool]:
        if not obj.active or not can(
            request.user, "staff.manage", group_id=obj.group_id, site_id=obj.site_id
        ):
            return []
        return [Tool(self.admin_url("point", obj.pk), _("Change vending point"))]

    def get_urls(self) -> list[URLPattern]:
        return self.lifecycle_urls(("point", self.point_view)) + super().get_urls()

    def point_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self.lifecycle_view(
            request,
            object_id,
            form_class=PointForm,
            capability="staff.manage",
            title=_("Change vending point"),
            run=lambda client, d: do_set_api_client_point(
                client=client, point=d["point"], actor=request.user
            ),
            success=_("Vending point changed."),
        )
