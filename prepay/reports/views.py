"""Dashboards and reports: thin views over prepay.reports.queries and .definitions.

Access: a signed-in user who holds ``reports.view`` nowhere gets 403 on every page, JSON feed and
export; everybody else sees only the rows of the sites where they hold it (queries scope them).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_tables2 import Table

from prepay.common.replica import reading_reports
from prepay.domain.reporting import Period, month_period, previous_ten_day_period, ten_day_period
from prepay.reports import queries as q
from prepay.reports.definitions import NOT_FILTERS, REPORTS, bind_filters, invalid_filters_text
from prepay.reports.export_audit import record_export, site_chosen
from prepay.reports.exports import PDF_TYPE, XLSX_TYPE, download_name, render_pdf, render_xlsx
from prepay.reports.tables import table_for, table_rows
from prepay.telemetry import problems
from prepay.tenancy.scoping import holds

View = Callable[..., HttpResponseBase]
PER_PAGE = 100
MAX_PER_PAGE = 1000


def reports_access(view: View) -> View:
    """Sign-in, then 403 unless the user holds ``reports.view`` on some site or group."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not holds(request.user, q.REPORTS):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def reports_required(view: View) -> View:
    """:func:`reports_access`, and a GET reads the read replica when one is configured
    (``request.replica`` says where it read and how far behind the replica is;
    :mod:`prepay.common.replica`); anything that may write reads the primary."""

    @reports_access
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        with reading_reports() as where:
            request.replica = where  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

    return wrapper


@reports_required
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "reports/index.html", {"reports": REPORTS.values()})


def suspicious_panel(user: Any) -> dict[str, Any]:
    """The suspicious-accounts panel: open cases of the analysis (prepay/analytics) on the user's sites."""
    from prepay.analytics.queries import panel

    return panel(user)


@reports_required
def report(request: HttpRequest, slug: str) -> HttpResponse:
    """One report on screen (filtered, sorted, paginated) or, with ``?export=xlsx|pdf``, as a file
    (up to ``PREPAY_EXPORT_DIRECT_ROWS`` rows; more are exported in the background: export_views).

    Missing dates default to the report's period (the current ten-day period for sales). Invalid
    filters (including a site, point or operator outside the user's scope, a date that is not one, a
    reversed range) show the errors and no rows with status 400; an export with invalid filters is
    refused with 400 and a plain-text message naming each field and its error. Paging and sorting
    never fail: see :func:`_configure_table`.
    """
    definition = REPORTS.get(slug)
    if definition is None:
        raise Http404
    fs = bind_filters(definition, request.GET, request)
    export = request.GET.get("export", "")
    if not fs.is_valid():
        if export:
            return HttpResponse(
                invalid_filters_text(fs), status=400, content_type="text/plain; charset=utf-8"
            )
        return render(request, "reports/report.html", {"definition": definition, "filter": fs}, status=400)
    data = definition.build(request.user, fs)
    if export not in ("", "xlsx", "pdf"):
        raise Http404
    if export and len(data.rows) > settings.PREPAY_EXPORT_DIRECT_ROWS:
        return HttpResponse(_too_many(len(data.rows)), status=400, content_type="text/plain; charset=utf-8")
    if export:
        return exported(
            request,
            render_xlsx(data) if export == "xlsx" else render_pdf(data),
            export,
            slug,
            title=definition.title,
            rows=len(data.rows),
            filters=urlencode(_filters(fs.data)),
            site=site_chosen(fs),
        )
    table = _configure_table(request, table_for(data)(table_rows(data)))
    context = {
        "definition": definition,
        "filter": fs,
        "data": data,
        "table": table,
        "query": _query_without(request, ("export", "page", "sort")),
        "filters": _filters(fs.data),
        "direct_rows": settings.PREPAY_EXPORT_DIRECT_ROWS,
        "periods": _period_links(slug),
    }
    return render(request, "reports/report.html", context)


def _too_many(rows: int) -> str:
    return (
        _(
            "This report has %(rows)s rows, more than a direct download holds (%(limit)s). Narrow the "
            "filters, or use the Excel button on the report page: the file is prepared in the background."
        )
        % {"rows": f"{rows:,}", "limit": f"{settings.PREPAY_EXPORT_DIRECT_ROWS:,}"}
        + "\n"
    )


def _filters(data: Any) -> list[tuple[str, str]]:
    """The filters the page shows (the defaults filled in) as (name, value) pairs, for the form that
    asks for a background export: the export covers the period on screen."""
    return [(name, value) for name, values in data.lists() if name not in NOT_FILTERS for value in values]


def _whole_number(text: str | None, default: int) -> int:
    try:
        return int(text or "")
    except ValueError:
        return default


def _configure_table(request: HttpRequest, table: Table) -> Table:
    """Sort by ``?sort=`` (unknown or unsortable columns are ignored) and show page ``?page=`` of
    ``?per_page=`` rows. A page that is not a whole number or below 1 is the first, one past the end
    the last; ``per_page`` that is not a whole number or below 1 is :data:`PER_PAGE`, and at most
    :data:`MAX_PER_PAGE`."""
    table.request = request
    if order := request.GET.getlist(table.prefixed_order_by_field):
        table.order_by = order
    per_page = _whole_number(request.GET.get(table.prefixed_per_page_field), PER_PAGE)
    per_page = min(per_page if per_page >= 1 else PER_PAGE, MAX_PER_PAGE)
    page = max(_whole_number(request.GET.get(table.prefixed_page_field), 1), 1)
    try:
        table.paginate(per_page=per_page, page=page)
    except (EmptyPage, PageNotAnInteger):
        table.paginate(per_page=per_page, page=table.paginator.num_pages)
    return table


def exported(
    request: HttpRequest, content: bytes, fmt: str, name: str, *, report: str = "", **event: Any
) -> HttpResponse:
    """The ``fmt`` ("xlsx" or "pdf") file ``content`` as a download named ``name``, once its
    ``report.export`` audit event (``report``: the report's slug, default ``name``; ``event``: title,
    rows, filters, site) is written."""
    record_export(user=request.user, report=report or name, fmt=fmt, **event)
    return _download(content, XLSX_TYPE if fmt == "xlsx" else PDF_TYPE, f"{name}.{fmt}")


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{download_name(filename)}"'
    return response


def _query_without(request: HttpRequest, names: tuple[str, ...]) -> str:
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


def _period_links(slug: str) -> list[tuple[str, Period]]:
    """Quick choices for date-range reports: this and the previous ten-day period, this month."""
    if slug not in ("sales", "reversals", "recovery", "line-loss"):
        return []
    today = q.local_today()
    current = ten_day_period(today)
    return [
        (_("This ten-day period"), current),
        (_("Previous ten-day period"), previous_ten_day_period(current)),
        (_("This month"), month_period(today)),
    ]


# ---------------------------------------------------------------- dashboard


@reports_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The dashboard page; its charts and live feed are filled by static/js/dashboard.js."""
    context = {
        "health": q.meter_health(request.user),
        "today": q.local_today(),
        "suspicious": suspicious_panel(request.user),
        "poll_seconds": 5,
        "commands": problems.for_user(request.user, q.REPORTS),  # failed / overdue remote commands
    }
    return render(request, "reports/dashboard.html", context)


@reports_required
def dashboard_data(request: HttpRequest) -> JsonResponse:
    """Today's sales, this month's recovery by site, energy by site and customer type, meter health."""
    today = q.local_today()
    month = Period(today.replace(day=1), today)
    sites = q.scoped_sites(request.user)
    by_site = q.recovery_by_site(request.user, month, sites)  # once: the rows and the total
    recovery = q.recovery_rows(request.user, month, sites, by_site)
    totals = by_site.values()
    overall = q.Recovery(sum((r.collected for r in totals), q.ZERO), sum((r.due for r in totals), q.ZERO))
    return JsonResponse(
        {
            "today": q.today_sales(request.user, today),
            "recovery": {
                "sites": [r["site"] for r in recovery],
                "rates": [None if r["rate"] is None else str(r["rate"]) for r in recovery],
                "collected": [str(r["collected"]) for r in recovery],
                "due": [str(r["due"]) for r in recovery],
                "overall": None if overall.rate is None else str(overall.rate),
            },
            "energy": q.energy_by_site_and_type(request.user, month),
            "health": {k: v["count"] for k, v in q.meter_health(request.user, limit=0).items()},
        }
    )


@reports_required
def live(request: HttpRequest) -> JsonResponse:
    """Vends newer than ``?after=<id>`` (newest first, at most 20) and today's running totals."""
    try:
        after = max(int(request.GET.get("after", "0")), 0)
    except ValueError:
        after = 0
    vends = q.live_vends(request.user, after=after)
    today = q.today_sales(request.user)
    return JsonResponse(
        {
            "vends": vends,
            "latest": vends[0]["id"] if vends else after,
            "today": {"count": today["count"], "total": today["total"]},
        }
    )
