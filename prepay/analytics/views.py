"""Suspicious-consumption screens: the case list (filters, sort, pages, Excel), a case with its
evidence chart, and the check of a case. Thin: scope, parse, call one action, render.

Access: see :mod:`prepay.analytics.access` (cashiers 403, other sites' cases 404).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from prepay.analytics import queries
from prepay.analytics.access import CHECK, may, scoped, viewer_required, visible
from prepay.analytics.actions import do_check_case
from prepay.analytics.choices import CaseStatus
from prepay.analytics.filtersets import CaseFilter
from prepay.analytics.forms import CheckForm
from prepay.analytics.models import Case
from prepay.analytics.reasons import describe
from prepay.analytics.tables import CaseTable
from prepay.common.errors import ActionError
from prepay.reports.exports import XLSX_TYPE

PER_PAGE = 50


def _cases(request: HttpRequest) -> CaseFilter:
    params = request.GET.copy()
    if "status" not in params:
        params["status"] = CaseStatus.OPEN
    queryset = Case.objects.filter(scoped(request.user, Case)).select_related(
        "site", "account__customer", "account__unit"
    )
    return CaseFilter(params, queryset=queryset, request=request)


def _subtitle(fs: CaseFilter) -> str:
    parts = []
    for field_name, value in fs.form.cleaned_data.items():
        if value not in (None, ""):
            parts.append(f"{fs.form.fields[field_name].label}: {value}")
    return "; ".join(parts)


@viewer_required
def cases(request: HttpRequest) -> HttpResponse:
    """The case list; ``?export=xlsx`` downloads it with the same filters (every reason in words)."""
    fs = _cases(request)
    if not fs.is_valid():
        if request.GET.get("export"):
            lines = [_("Invalid filters.")] + [
                f"{fs.form.fields[n].label}: {e}" for n, es in fs.form.errors.items() for e in es
            ]
            return HttpResponse("\n".join(lines) + "\n", status=400, content_type="text/plain; charset=utf-8")
        return render(request, "analytics/cases.html", {"filter": fs}, status=400)
    if request.GET.get("export") == "xlsx":
        response = HttpResponse(queries.cases_xlsx(fs.qs, _subtitle(fs)), content_type=XLSX_TYPE)
        response["Content-Disposition"] = 'attachment; filename="prepay-suspicious-accounts.xlsx"'
        return response
    table = CaseTable(fs.qs)
    table.request = request
    if order := request.GET.getlist("sort"):
        table.order_by = order
    try:
        page = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        page = 1
    try:
        table.paginate(per_page=PER_PAGE, page=page)
    except (EmptyPage, PageNotAnInteger):
        table.paginate(per_page=PER_PAGE, page=table.paginator.num_pages)
    query = request.GET.copy()
    for key in ("export", "page", "sort"):
        query.pop(key, None)
    context = {
        "filter": fs,
        "table": table,
        "query": query.urlencode(),
        "counts": queries.counts_by_signal(fs.qs),
    }
    return render(request, "analytics/cases.html", context)


def _case_page(
    request: HttpRequest, case: Case, form: CheckForm, *, status: int = 200, error: str = ""
) -> HttpResponse:
    others = (
        Case.objects.filter(account_id=case.account_id)
        .exclude(pk=case.pk)
        .select_related("checked_by")
        .order_by("-opened_on")
    )
    context = {
        "case": case,
        "account": case.account,
        "sentences": [(r, describe(r)) for r in case.reasons],
        "can_check": case.status == CaseStatus.OPEN and may(request.user, CHECK, case),
        "form": form,
        "error": error,
        "others": others[:20],
    }
    return render(request, "analytics/case.html", context, status=status)


@viewer_required
def case(request: HttpRequest, pk: int) -> HttpResponse:
    obj = visible(
        request.user, Case.objects.select_related("site", "account__customer", "account__unit__building"), pk
    )
    return _case_page(request, obj, CheckForm())


@viewer_required
def evidence(request: HttpRequest, pk: int) -> JsonResponse:
    """The case's chart data (static/js/analytics-case.js draws it)."""
    obj = visible(request.user, Case.objects.all(), pk)
    return JsonResponse(queries.evidence(obj))


@viewer_required
@require_POST
def check(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a case as checked with its outcome and a note (``do_check_case``)."""
    obj = visible(
        request.user, Case.objects.select_related("site", "account__customer", "account__unit__building"), pk
    )
    if not may(request.user, CHECK, obj):
        raise PermissionDenied
    form = CheckForm(request.POST)
    if not form.is_valid():
        return _case_page(request, obj, form, status=400)
    try:
        do_check_case(
            case=obj, outcome=form.cleaned_data["outcome"], note=form.cleaned_data["note"], actor=request.user
        )
    except ActionError as exc:
        if exc.status == 403:
            raise PermissionDenied from exc
        obj.refresh_from_db()
        return _case_page(request, obj, form, status=400, error=str(exc.message))
    messages.success(request, _("The case is marked as checked."))
    return HttpResponseRedirect(reverse("analytics:case", args=[obj.pk]))
