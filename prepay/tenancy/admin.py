"""Back office for tenancy: groups, sites, staff users and their memberships.

* Property groups: superusers add and delete; a group admin edits their own group.
* Sites: a group-level admin adds and edits the sites of their group.
* Memberships and staff users: capability "staff.manage"; a group admin grants roles in their group
  only (a site admin on their site only) and can never make anyone a superuser.

The staff writes are actions in ``prepay/tenancy/actions.py``; see docs/back-office.md.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prepay.common.admin import ScopedHistoryAdmin, holds, is_member
from prepay.common.errors import ActionError
from prepay.tenancy.actions import (
    do_create_staff_user,
    do_delete_membership,
    do_save_membership,
    do_save_staff_user,
    manages_user,
)
from prepay.tenancy.choices import Role
from prepay.tenancy.models import Membership, PropertyGroup, Site
from prepay.tenancy.scoping import can, reach

User = get_user_model()


# --------------------------------------------------------------------------------------------------
# Groups and sites
# --------------------------------------------------------------------------------------------------


@admin.register(PropertyGroup)
class PropertyGroupAdmin(ScopedHistoryAdmin):
    """Groups: superusers create them; a group admin renames their own."""

    list_display = ["code", "name", "created_at"]
    search_fields = ["code", "name"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return bool(request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["code"] if obj is not None and not request.user.is_superuser else []


@admin.register(Site)
class SiteAdmin(ScopedHistoryAdmin):
    """Sites: added and edited by group-level admins of the site's group."""

    list_display = ["code", "name", "group", "address"]
    list_filter = [("group", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["code", "name", "address"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["group"] if obj is not None else []


# --------------------------------------------------------------------------------------------------
# Memberships
# --------------------------------------------------------------------------------------------------


def staff_manage_q(actor: Any, prefix: str = "") -> Q:
    """Rows (memberships, or users through ``prefix``) inside the actor's "staff.manage" reach."""
    r = reach(actor, "staff.manage")
    if r.all:
        return Q()
    q = Q(**{f"{prefix}group_id__in": r.group_ids}) if r.group_ids else Q(pk__in=[])
    if r.site_ids:
        q |= Q(**{f"{prefix}site_id__in": r.site_ids})
    return q


class MembershipForm(forms.ModelForm):  # type: ignore[type-arg]
    prepay_request: HttpRequest | None = None

    class Meta:
        model = Membership
        fields = ["user", "group", "site", "role"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        request = self.prepay_request
        group, site = data.get("group"), data.get("site")
        if (
            request is not None
            and group is not None
            and not can(request.user, "staff.manage", group_id=group.pk, site_id=site.pk if site else None)
        ):
            raise forms.ValidationError(_("You may not grant roles there."))
        return data


@admin.register(Membership)
class MembershipAdmin(ScopedHistoryAdmin):
    """Who holds which role where. Managed with "staff.manage" (administrators)."""

    capability = "staff.manage"
    view_capability = "staff.manage"
    form = MembershipForm
    list_display = ["user", "role", "group", "site"]
    list_filter = [
        "role",
        ("group", admin.RelatedOnlyFieldListFilter),
        ("site", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["user__username", "user__first_name", "user__last_name"]

    def get_queryset(self, request: HttpRequest) -> Any:
        qs = Membership.objects.select_related("user", "group", "site").order_by("user__username", "role")
        return qs.filter(staff_manage_q(request.user))

    def may(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return holds(request.user, self.capability)
        return can(request.user, self.capability, group_id=obj.group_id, site_id=obj.site_id)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"prepay_request": request})

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "user":
            kwargs["queryset"] = staff_users(request.user)
        elif db_field.name == "group":
            kwargs["queryset"] = PropertyGroup.objects.for_user(request.user, "staff.manage")
        elif db_field.name == "site":
            kwargs["queryset"] = Site.objects.for_user(request.user, "staff.manage")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        do_save_membership(obj, actor=request.user)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        do_delete_membership(obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        with transaction.atomic():
            for obj in queryset.order_by("pk"):
                do_delete_membership(obj, actor=request.user)


# --------------------------------------------------------------------------------------------------
# Staff users
# --------------------------------------------------------------------------------------------------


def staff_users(actor: Any) -> Any:
    """Users holding a membership where ``actor`` manages staff (superusers only for superusers)."""
    qs = User.objects.all()
    if actor.is_superuser:
        return qs
    ids = Membership.objects.filter(staff_manage_q(actor)).values("user_id")
    return qs.filter(pk__in=ids, is_superuser=False)


class StaffUserCreationForm(UserCreationForm):  # type: ignore[type-arg]
    """A new staff user and their first role."""

    prepay_request: HttpRequest | None = None

    group = forms.ModelChoiceField(PropertyGroup.objects.none(), label=gettext_lazy("group"))
    site = forms.ModelChoiceField(
        Site.objects.none(),
        label=gettext_lazy("site"),
        required=False,
        help_text=gettext_lazy("Empty: the role applies to every site of the group."),
    )
    role = forms.ChoiceField(choices=Role.choices, label=gettext_lazy("role"))

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "first_name", "last_name", "email")  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.prepay_request is not None:
            user = self.prepay_request.user
            self.fields["group"].queryset = PropertyGroup.objects.for_user(user, "staff.manage")  # type: ignore[attr-defined]
            self.fields["site"].queryset = Site.objects.for_user(user, "staff.manage")  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        group, site = data.get("group"), data.get("site")
        if group is not None and site is not None and site.group_id != group.pk:
            self.add_error("site", _("The site does not belong to the group."))
        elif (
            group is not None
            and self.prepay_request is not None
            and not can(
                self.prepay_request.user, "staff.manage", group_id=group.pk, site_id=site.pk if site else None
            )
        ):
            raise forms.ValidationError(_("You may not grant roles there."))
        return data


class StaffUserChangeForm(UserChangeForm):  # type: ignore[type-arg]
    class Meta(UserChangeForm.Meta):
        model = User
        fields = ("username", "first_name", "last_name", "email", "is_active", "password")  # type: ignore[assignment]


# Django's auth admin would manage users by auth permissions; memberships replace both.
for _model in (User, Group):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(User)
class StaffUserAdmin(UserAdmin):  # type: ignore[type-arg]
    """Staff users of the groups the signed-in administrator manages (never superusers)."""

    form = StaffUserChangeForm
    add_form = StaffUserCreationForm
    list_display = ["username", "first_name", "last_name", "email", "is_active", "roles"]
    list_filter = ["is_active"]
    search_fields = ["username", "first_name", "last_name", "email"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (gettext_lazy("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (gettext_lazy("Status"), {"fields": ("is_active", "last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"fields": ("username", "password1", "password2")}),
        (gettext_lazy("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (gettext_lazy("First role"), {"fields": ("group", "site", "role")}),
    )
    readonly_fields = ["last_login", "date_joined"]
    filter_horizontal = ()
    actions = None

    @admin.display(description=gettext_lazy("roles"))
    def roles(self, obj: Any) -> str:
        return ", ".join(
            str(m.get_role_display()) + " @ " + (m.site.name if m.site_id else f"{m.group.name} (*)")
            for m in obj.memberships.select_related("group", "site")
        )

    def get_queryset(self, request: HttpRequest) -> Any:
        return staff_users(request.user).order_by("username")

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        from django.http import Http404

        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(_("Not found."))
        return obj

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_member(request.user) and holds(request.user, "staff.manage")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return holds(request.user, "staff.manage")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return holds(request.user, "staff.manage")
        return manages_user(request.user, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: audit events and ledger rows refer to users

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"prepay_request": request})

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            do_save_staff_user(obj, actor=request.user)
            return
        data = form.cleaned_data
        user = do_create_staff_user(
            username=data["username"],
            password=data["password1"],
            group=data["group"],
            site=data.get("site"),
            role=data["role"],
            actor=request.user,
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
            email=data.get("email", ""),
        )
        obj.pk = user.pk
        obj._state.adding = False

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: Any = None,
    ) -> Any:
        from django.core.exceptions import PermissionDenied as DjangoPermissionDenied

        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ActionError as exc:
            raise DjangoPermissionDenied(str(exc)) from None
