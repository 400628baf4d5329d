"""Failed sign-ins and lockouts in the back office: see who must wait, and lift the wait.

Visible to platform operators (every row) and to holders of ``staff.manage`` (rows of the staff they
manage, see :func:`prepay.web.lockouts.managed_usernames`). Rows are never edited; the list action
"Lift the wait" calls :func:`prepay.web.actions.do_lift_login_lockout` (audited).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prepay.common.admin import is_member
from prepay.common.errors import ActionError
from prepay.tenancy.scoping import holds
from prepay.web.actions import do_lift_login_lockout
from prepay.web.lockouts import limits, locked_until, managed_usernames
from prepay.web.models import FailedSignIn


@admin.register(FailedSignIn)
class FailedSignInAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["username", "ip_address", "failures_since_start", "attempt_time", "state"]
    search_fields = ["username", "ip_address"]
    ordering = ["-attempt_time"]
    fields = ("username", "ip_address", "user_agent", "failures_since_start", "attempt_time", "path_info")
    readonly_fields = fields
    actions = ["lift"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        names = managed_usernames(request.user)
        return qs if names is None else qs.filter(username__in=names)

    def may_see(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(is_member(user) and (user.is_superuser or holds(user, "staff.manage")))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.may_see(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may_see(request)

    def has_lift_permission(self, request: HttpRequest) -> bool:
        return self.may_see(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("state"))
    def state(self, obj: FailedSignIn) -> str:
        now = timezone.now()
        until = locked_until(obj.username, obj.ip_address, now)
        if until is not None:
            return _("must wait until %(t)s") % {
                "t": formats.date_format(timezone.localtime(until), "SHORT_DATETIME_FORMAT")
            }
        if obj.attempt_time < now - limits().cool_off:
            return _("expired")
        return _("counting")

    @admin.action(
        description=gettext_lazy("Lift the wait (forget these failed sign-ins)"), permissions=["lift"]
    )
    def lift(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        try:
            n = do_lift_login_lockout(attempt_ids=queryset.values_list("pk", flat=True), actor=request.user)
        except ActionError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, _("Lifted: %(n)s failed sign-ins forgotten.") % {"n": n}, messages.SUCCESS)
