"""The back office: an admin site and ModelAdmin base classes scoped by memberships.

Memberships are the only source of truth for who sees and changes what: Django's model permissions
(auth ``Permission`` rows) are bypassed by the ``has_*_permission`` overrides below, rows are
filtered with ``for_user`` and every write goes through an action (``do_save_record`` /
``do_delete_record`` or a lifecycle action), so it is validated and audited.

Contracts:

* an object outside the user's scope answers 404 (never a redirect that confirms it exists);
* a user without the capability gets 403 on add / change / delete and on lifecycle screens;
* a refused save re-renders the form with the action's message and writes nothing;
* foreign-key dropdowns and list filters only offer rows the user may see or use.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import update_wrapper
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import models, transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from prepay.common.actions import do_delete_record, do_save_record, scope_of
from prepay.common.errors import ActionError, PermissionDenied
from prepay.tenancy.scoping import can, holds, scope_q

# --------------------------------------------------------------------------------------------------
# The admin site
# --------------------------------------------------------------------------------------------------


def is_member(user: Any) -> bool:
    """True for an active superuser or an active user holding at least one membership."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if "_prepay_is_member" not in user.__dict__:  # cached for the request, like scoping.reach
        user.__dict__["_prepay_is_member"] = user.memberships.exists()
    return bool(user.__dict__["_prepay_is_member"])


class PrepayAdminSite(admin.AdminSite):
    """Django's admin site, branded, open to active staff users with a membership (or superusers)."""

    site_header = gettext_lazy("Prepay back office")
    site_title = gettext_lazy("Prepay")
    index_title = gettext_lazy("Master data and accounts")
    site_url = "/"

    def has_permission(self, request: HttpRequest) -> bool:
        from prepay.tenancy.scoping import holds

        user = request.user
        if not (user.is_active and user.is_staff and is_member(user)):
            return False
        return bool(user.is_superuser or holds(user, "backoffice"))

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        """A signed-in member without the back office (a cashier) gets 403, not the login page."""
        inner = super().admin_view(view, cacheable)

        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            user = request.user
            if (
                user.is_authenticated
                and user.is_active
                and user.is_staff
                and is_member(user)
                and not self.has_permission(request)
            ):
                from django.core.exceptions import PermissionDenied as Denied

                raise Denied
            return inner(request, *args, **kwargs)

        return update_wrapper(wrapper, inner)


# --------------------------------------------------------------------------------------------------
# Forms
# --------------------------------------------------------------------------------------------------


class ScopedModelForm(forms.ModelForm):  # type: ignore[type-arg]
    """A ModelForm that refuses (as a form error) a row the user may not write where it would live.

    ``prepay_request`` and ``prepay_capability`` are set by :meth:`ScopedAdmin.get_form`. When a
    save was refused by the action after validation (a race, or a rule only the action knows), the
    admin re-runs the form with ``request.prepay_refusal`` set, which shows as a form error.
    """

    prepay_request: HttpRequest | None = None
    prepay_capability: str = "masterdata.change"

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]
        request = self.prepay_request
        if request is None:
            return
        refusal = getattr(request, "prepay_refusal", None)
        if refusal is not None:
            self.add_error(None, str(refusal))
            return
        if self.errors:
            return
        try:
            group_id, site_id = scope_of(self.instance)
        except ObjectDoesNotExist:
            return
        if not can(request.user, self.prepay_capability, group_id=group_id, site_id=site_id):
            self.add_error(None, _("You are not allowed to save this record there."))


# --------------------------------------------------------------------------------------------------
# ModelAdmin bases
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    """A button on a change page that opens a lifecycle screen."""

    url: str
    label: str


class ScopedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Base for every registered model: rows via ``for_user``, writes via actions.

    ``capability`` guards add / change / delete; ``view_capability`` guards seeing the model at all
    (rows are then filtered by the queryset). ``fk_capabilities`` maps a foreign key to the
    capability the user needs on the chosen row (default: ``capability`` for sites and groups,
    "view" for any other scoped model).
    """

    capability: str = "masterdata.change"
    view_capability: str = "view"
    fk_capabilities: dict[str, str] = {}
    form: Any = ScopedModelForm
    change_form_template = "admin/prepay/change_form.html"

    # ---- rows -----------------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> Any:
        qs = super().get_queryset(request)
        return qs.filter(scope_q(request.user, self.model, self.view_capability))

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        """The object from the scoped queryset; outside the user's scope it does not exist (404)."""
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(_("Not found."))
        return obj

    def is_visible(self, request: HttpRequest, obj: models.Model) -> bool:
        return bool(self.get_queryset(request).filter(pk=obj.pk).exists())

    # ---- permissions: memberships only ----------------------------------------------------------

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        if not is_member(user) or not holds(user, self.view_capability):
            return False
        return obj is None or self.is_visible(request, obj)

    def may(self, request: HttpRequest, obj: Any = None) -> bool:
        """The user holds ``capability`` somewhere (``obj`` None) or where ``obj`` lives."""
        if obj is None:
            return holds(request.user, self.capability)
        group_id, site_id = scope_of(obj)
        return can(request.user, self.capability, group_id=group_id, site_id=site_id)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self.may(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may(request, obj)

    # ---- forms and choices ----------------------------------------------------------------------

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if issubclass(form, ScopedModelForm):
            form = type(
                form.__name__, (form,), {"prepay_request": request, "prepay_capability": self.capability}
            )
        return form

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        related = db_field.remote_field.model
        if hasattr(related._default_manager, "for_user"):
            label = related._meta.label_lower
            default = self.capability if label in {"tenancy.site", "tenancy.propertygroup"} else "view"
            cap = self.fk_capabilities.get(db_field.name, default)
            kwargs["queryset"] = related._default_manager.for_user(request.user, cap)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # ---- writes through actions -----------------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        do_save_record(obj, actor=request.user, capability=self.capability)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        do_delete_record(obj, actor=request.user, capability=self.capability)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        """Delete each row through the action, all or nothing; a refusal becomes a message."""
        try:
            with transaction.atomic():
                for obj in queryset.order_by("pk"):
                    do_delete_record(obj, actor=request.user, capability=self.capability)
        except ActionError as exc:
            request.prepay_refusal = exc  # type: ignore[attr-defined]
            self.message_user(request, str(exc), messages.ERROR)

    def message_user(
        self, request: HttpRequest, message: Any, level: int | str = messages.INFO, *args: Any, **kw: Any
    ) -> None:
        # A refused bulk delete must not be followed by Django's "Successfully deleted" message.
        if level == messages.SUCCESS and getattr(request, "prepay_refusal", None) is not None:
            return
        super().message_user(request, message, level, *args, **kw)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: Any = None,
    ) -> Any:
        """Django's view; when the action refuses the save, roll back and re-render with the message."""
        extra_context = dict(extra_context or {})
        if not (self.has_view_or_change_permission(request) or self.has_add_permission(request)):
            raise DjangoPermissionDenied
        if object_id is not None:
            obj = self.get_object(request, object_id)
            extra_context["prepay_tools"] = self.get_tools(request, obj)
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(str(exc)) from None
        except ActionError as exc:
            request.prepay_refusal = exc  # type: ignore[attr-defined]
            response = super().changeform_view(request, object_id, form_url, extra_context)
            response.status_code = exc.status
            return response

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        try:
            with transaction.atomic():
                return super().delete_view(request, object_id, extra_context)
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(str(exc)) from None
        except ActionError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(request.path)

    # ---- lifecycle screens ----------------------------------------------------------------------

    def get_tools(self, request: HttpRequest, obj: Any) -> list[Tool]:
        """Buttons for the change page of ``obj`` (only those the user may use)."""
        return []

    def admin_url(self, name: str, *args: Any) -> str:
        opts = self.model._meta
        return reverse(
            f"admin:{opts.app_label}_{opts.model_name}_{name}", args=args, current_app=self.admin_site.name
        )

    def lifecycle_urls(self, *screens: tuple[str, Callable[..., HttpResponse]]) -> list[URLPattern]:
        """URL patterns ``<pk>/<slug>/`` for lifecycle views, wrapped by the admin site (login, CSRF)."""
        opts = self.model._meta
        return [
            path(
                f"<path:object_id>/{slug}/",
                self.admin_site.admin_view(view),
                name=f"{opts.app_label}_{opts.model_name}_{slug.replace('-', '_')}",
            )
            for slug, view in screens
        ]

    def lifecycle_view(
        self,
        request: HttpRequest,
        object_id: str,
        *,
        form_class: type[forms.Form],
        capability: str,
        title: str,
        run: Callable[[Any, dict[str, Any]], Any],
        done: Callable[[Any, Any], str] | None = None,
        success: str = "",
    ) -> HttpResponse:
        """A small form that calls exactly one action.

        ``run(obj, cleaned_data)`` calls the action with ``actor=request.user``. The object is looked
        up in the user's scope (404 outside it); without ``capability`` where it lives: 403. An
        :class:`ActionError` re-renders the form with its message (status 400, nothing changed);
        success redirects to ``done(obj, result)`` (default: the object's change page).
        """
        obj = self.get_object(request, object_id)
        group_id, site_id = scope_of(obj)
        if not can(request.user, capability, group_id=group_id, site_id=site_id):
            raise DjangoPermissionDenied
        form_kwargs: dict[str, Any] = {"obj": obj, "user": request.user}
        status = 200
        if request.method == "POST":
            form = form_class(request.POST, **form_kwargs)
            if form.is_valid():
                try:
                    result = run(obj, form.cleaned_data)
                except PermissionDenied as exc:
                    raise DjangoPermissionDenied(str(exc)) from None
                except ActionError as exc:
                    form.add_error(None, str(exc))
                    status = 400
                else:
                    self.message_user(request, success or _("Done."), messages.SUCCESS)
                    url = done(obj, result) if done else self.admin_url("change", obj.pk)
                    return HttpResponseRedirect(url)
        else:
            form = form_class(**form_kwargs)
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": str(obj),
            "opts": self.model._meta,
            "original": obj,
            "form": form,
            "cancel_url": self.admin_url("change", obj.pk),
        }
        return TemplateResponse(request, "admin/prepay/lifecycle_form.html", context, status=status)


class ScopedHistoryAdmin(SimpleHistoryAdmin, ScopedAdmin):  # type: ignore[misc]
    """:class:`ScopedAdmin` with django-simple-history's field-level history pages.

    History pages are scoped like change pages (an object outside the scope is a 404, even when
    its history exists), and reverting from history is disabled: reverts would bypass the actions.
    """

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        self.get_object(request, object_id)  # 404 outside the user's scope
        return super().history_view(request, object_id, extra_context)

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: Any = None
    ) -> Any:
        self.get_object(request, object_id)
        if request.method == "POST":
            raise DjangoPermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request: HttpRequest, obj: Any = None) -> bool:
        return True


class ReadOnlyAdmin(ScopedAdmin):
    """Rows to look at only: no add, change or delete for anyone (changes come from actions)."""

    actions = None

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    """A read-only inline (history rows such as installations or ledger entries)."""

    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_member(request.user)


# --------------------------------------------------------------------------------------------------
# Lifecycle forms
# --------------------------------------------------------------------------------------------------


class LifecycleForm(forms.Form):
    """Base for lifecycle forms: knows the object and the user; carries an idempotency key."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=80)

    def __init__(self, *args: Any, obj: Any, user: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("idempotency_key", f"admin-{uuid.uuid4().hex}")
        super().__init__(*args, **kwargs)
        self.obj = obj
        self.user = user
