"""Back office for online payments (scoped like every admin page; writes through actions only).

* **Online orders**: every order with its status; the filter "Paid, not sold" is finance's queue.
  An order waiting there has two tools (capability ``reversal.approve``: finance and admins):
  **Sell now** (``do_sell_order``) and **Refund** (``do_refund_order``).
* **Payment notifications**: what each verified notification did; unknown orders and second
  payments of a paid order are listed here for finance.
* **Provider statements**: import a day's statement (capability ``billing.run``) and see its
  mismatches, with an Excel export.
* **Payment providers**: read only; they are set up with ``prepay payments add …`` (their secrets
  never pass through a web form or the page).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prepay.common.admin import LifecycleForm, ReadOnlyAdmin, Tool
from prepay.common.errors import ActionError
from prepay.payments import reconcile
from prepay.payments.actions import do_import_statement, do_refund_order, do_sell_order
from prepay.payments.choices import OrderStatus
from prepay.payments.models import PaymentNotification, PaymentOrder, PaymentProvider, Statement
from prepay.tenancy.scoping import can, holds


@admin.register(PaymentProvider)
class PaymentProviderAdmin(ReadOnlyAdmin):
    view_capability = "keys.manage"
    list_display = ["code", "name", "kind", "group", "site", "point", "active", "created_at"]
    list_filter = ["kind", "active"]
    fields = ("group", "site", "code", "name", "kind", "point", "user", "active", "created_at")
    readonly_fields = fields


class SellForm(LifecycleForm):
    confirm = forms.BooleanField(label=gettext_lazy("Sell the money paid for this order now"))


class RefundForm(LifecycleForm):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=200)
    reference = forms.CharField(
        label=gettext_lazy("Refund already made in the merchant platform: its number"),
        max_length=64,
        required=False,
        help_text=gettext_lazy("Empty: refund through the provider now."),
    )


@admin.register(PaymentOrder)
class PaymentOrderAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "account",
        "amount",
        "status",
        "provider",
        "created_at",
        "paid_at",
        "problem_code",
    ]
    list_filter = ["status", "provider"]
    search_fields = ["number", "account__number", "provider_trade_no"]
    list_select_related = ["account", "provider"]
    date_hierarchy = "created_at"
    exclude = ["checkout_url"]

    def get_tools(self, request: HttpRequest, obj: Any) -> list[Tool]:
        if obj.status != OrderStatus.ATTENTION:
            return []
        site = obj.account.site
        if not can(request.user, "reversal.approve", group_id=site.group_id, site_id=site.pk):
            return []
        return [
            Tool(self.admin_url("sell", obj.pk), _("Sell now")),
            Tool(self.admin_url("refund", obj.pk), _("Refund")),
        ]

    def get_urls(self) -> list[URLPattern]:
        return (
            self.lifecycle_urls(("sell", self.sell_view), ("refund", self.refund_view)) + super().get_urls()
        )

    def sell_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self.lifecycle_view(
            request,
            object_id,
            form_class=SellForm,
            capability="reversal.approve",
            title=_("Sell now"),
            run=lambda order, d: do_sell_order(order=order, actor=request.user),
            success=_("Sold."),
        )

    def refund_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self.lifecycle_view(
            request,
            object_id,
            form_class=RefundForm,
            capability="reversal.approve",
            title=_("Refund"),
            run=lambda order, d: do_refund_order(
                order=order, actor=request.user, reason=d["reason"], reference=d["reference"]
            ),
            success=_("Refunded."),
        )


@admin.register(PaymentNotification)
class PaymentNotificationAdmin(ReadOnlyAdmin):
    list_display = [
        "received_at",
        "provider",
        "out_trade_no",
        "provider_trade_no",
        "state",
        "amount",
        "outcome",
    ]
    list_filter = ["outcome", "provider"]
    search_fields = ["out_trade_no", "provider_trade_no", "event_id"]
    list_select_related = ["provider"]


class ImportForm(forms.Form):
    provider = forms.ModelChoiceField(label=gettext_lazy("Provider"), queryset=PaymentProvider.objects.none())
    day = forms.DateField(label=gettext_lazy("Day"), widget=forms.DateInput(attrs={"type": "date"}))
    file = forms.FileField(label=gettext_lazy("Statement file"))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["provider"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = PaymentProvider.objects.for_user(user, "billing.run")


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    view_capability = "reports.view"
    list_display = [
        "day",
        "provider",
        "filename",
        "lines_count",
        "payments",
        "refunds",
        "imported_by",
        "imported_at",
    ]
    list_filter = ["provider"]
    change_list_template = "payments/admin_statements.html"
    exclude = ["sha256"]

    def get_tools(self, request: HttpRequest, obj: Any) -> list[Tool]:
        return [Tool(self.admin_url("mismatches", obj.pk), _("Mismatches"))]

    def get_urls(self) -> list[URLPattern]:
        site = self.admin_site
        return [
            path("import/", site.admin_view(self.import_view), name="payments_statement_import"),
            path(
                "<path:object_id>/mismatches/",
                site.admin_view(self.mismatches_view),
                name="payments_statement_mismatches",
            ),
            path(
                "<path:object_id>/export/",
                site.admin_view(self.export_view),
                name="payments_statement_export",
            ),
        ] + super().get_urls()

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        extra = {**(extra_context or {}), "can_import": holds(request.user, "billing.run")}
        return super().changelist_view(request, extra)

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not holds(request.user, "billing.run"):
            raise DjangoPermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
        status = 200
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                statement = do_import_statement(
                    provider=form.cleaned_data["provider"],
                    day=form.cleaned_data["day"],
                    filename=upload.name,
                    data=upload.read(),
                    actor=request.user,
                )
            except ActionError as exc:
                form.add_error("file", str(exc))
                status = 400
            else:
                self.message_user(request, _("Statement imported."), messages.SUCCESS)
                return HttpResponseRedirect(self.admin_url("mismatches", statement.pk))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import a statement"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "payments/admin_statement_import.html", context, status=status)

    def mismatches_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        statement = self.get_object(request, object_id)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Mismatches of %(s)s") % {"s": statement},
            "statement": statement,
            "mismatches": reconcile.mismatches(statement),
            "opts": self.model._meta,
            "export_url": self.admin_url("export", statement.pk),
        }
        return TemplateResponse(request, "payments/admin_mismatches.html", context)

    def export_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        statement = self.get_object(request, object_id)
        data = reconcile.export(statement, reconcile.mismatches(statement))
        response = HttpResponse(
            data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        name = f"reconciliation-{statement.provider.code}-{statement.day:%Y%m%d}.xlsx"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
