"""Finance's reconciliation screens (每10天对帐): the list of periods, a site's sheet (Excel, PDF),
recording a handover (上缴) and signing a sheet off. Thin views over
:mod:`prepay.reports.reconciliation` (figures) and :mod:`prepay.reconciliation.actions` (writes).

Access: the reports' rule to look (``reports.view``: admin, finance, auditor; cashiers and clerks get
403 everywhere); a site the user may not report on is 404, whoever asks; recording a handover and
signing off need ``billing.run`` on the site (finance, admin): 403 otherwise (an auditor looks only).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from prepay.common.errors import ActionError
from prepay.common.errors import PermissionDenied as ActionForbidden
from prepay.domain.reporting import Period
from prepay.reconciliation import actions
from prepay.reconciliation.forms import HandoverForm, SignOffForm
from prepay.reports import reconciliation as rec
from prepay.reports.queries import REPORTS, local_today
from prepay.reports.reconciliation_export import method_headers, render_sheet_pdf, render_sheet_xlsx
from prepay.reports.views import exported, reports_required
from prepay.tenancy.models import Site
from prepay.tenancy.scoping import can

#: ten-day periods the list shows per site, newest first
PERIODS_LISTED = 6


def _site_and_period(request: HttpRequest, site_id: int, start: str) -> tuple[Site, Period]:
    """The site (one the user may report on) and the ten-day period starting ``start``, else 404."""
    site = Site.objects.for_user(request.user, REPORTS).filter(pk=site_id).select_related("group").first()
    try:
        period = rec.period_of(date.fromisoformat(start))
    except ValueError:
        period = None
    if site is None or period is None:
        raise Http404
    return site, period


def may_reconcile(user: Any, site: Site) -> bool:
    """True when ``user`` records handovers and signs off at ``site`` (finance, admin)."""
    return can(user, actions.CAPABILITY, group_id=site.group_id, site_id=site.pk)


def _sheet_url(site: Site, period: Period) -> str:
    return reverse("reports:reconciliation-sheet", args=[site.pk, period.start.isoformat()])


@reports_required
def periods(request: HttpRequest) -> HttpResponse:
    """The last ten-day periods of every site in scope (``?site=`` for one): takings, handed over,
    difference and whether the sheet is signed off."""
    sites = (
        Site.objects.for_user(request.user, REPORTS).select_related("group").order_by("group__code", "code")
    )
    chosen = request.GET.get("site", "")
    if chosen:
        sites = sites.filter(pk=int(chosen)) if chosen.isdigit() and len(chosen) < 10 else sites.none()
    today = local_today()
    shown = list(sites)
    listed = rec.periods_before(today, PERIODS_LISTED)
    figures = rec.period_list(shown, listed)
    rows = []
    for site in shown:
        for period in listed:
            rows.append(
                {
                    "site": site,
                    "period": period,
                    "over": period.end < today,
                    "url": _sheet_url(site, period),
                    **figures[(site.pk, period.start)],
                }
            )
    choices = Site.objects.for_user(request.user, REPORTS).order_by("group__code", "code")
    context = {"rows": rows, "sites": choices, "chosen": chosen}
    return render(request, "reports/reconciliation_list.html", context)


@reports_required
def sheet(request: HttpRequest, site_id: int, start: str) -> HttpResponse:
    """A site's sheet for a ten-day period; ``?export=xlsx|pdf`` as a file."""
    site, period = _site_and_period(request, site_id, start)
    data = rec.reconciliation_sheet(site, period)
    export = request.GET.get("export", "")
    name = f"reconciliation-{site.code}-{period.start.isoformat()}"
    if export not in ("", "xlsx", "pdf"):
        raise Http404
    if export:
        return exported(
            request,
            render_sheet_xlsx(data) if export == "xlsx" else render_sheet_pdf(data),
            export,
            name,
            report="reconciliation",
            title=_("Reconciliation sheet"),
            rows=len(data.lines) + len(data.handovers) + len(data.info),
            filters=urlencode([("site", str(site.pk)), ("period", period.start.isoformat())]),
            site=site,
        )
    return _render_sheet(request, data, SignOffForm())


def _render_sheet(
    request: HttpRequest, data: rec.Sheet, form: SignOffForm, status: int = 200
) -> HttpResponse:
    today = local_today()
    context = {
        "sheet": data,
        "heads": method_headers(),
        "may_reconcile": may_reconcile(request.user, data.site),
        "over": data.period.end < today,
        "started": data.period.start <= today,
        "form": form,
        "sales_url": reverse("reports:report", args=["sales"])
        + f"?date_from={data.period.start.isoformat()}&date_to={data.period.end.isoformat()}&site={data.site.pk}",
    }
    return render(request, "reports/reconciliation.html", context, status=status)


def _run(form: Any, run: Any) -> tuple[bool, Any]:
    """Call an action; its refusal becomes the form's error (nothing changed), a permission refusal 403."""
    try:
        return True, run()
    except ActionForbidden as exc:
        raise PermissionDenied(str(exc)) from None
    except ActionError as exc:
        form.add_error(None, str(exc))
        return False, None


@reports_required
def handover(request: HttpRequest, site_id: int, start: str) -> HttpResponse:
    """GET: the form to record money handed over for the period; POST: ``do_record_handover``."""
    site, period = _site_and_period(request, site_id, start)
    if not may_reconcile(request.user, site):
        raise PermissionDenied
    status = 200
    if request.method == "POST":
        form = HandoverForm(request.POST)
        if form.is_valid():
            ok, _done = _run(
                form,
                lambda: actions.do_record_handover(
                    site=site, period_start=period.start, actor=request.user, **form.cleaned_data
                ),
            )
            if ok:
                messages.success(request, _("Handover recorded."))
                return HttpResponseRedirect(_sheet_url(site, period))
        status = 400
    else:
        form = HandoverForm(initial={"deposited_on": min(timezone.localdate(), period.end), "method": "cash"})
    context = {"form": form, "site": site, "period": period, "sheet_url": _sheet_url(site, period)}
    return render(request, "reports/reconciliation_handover.html", context, status=status)


@reports_required
@require_POST
def sign_off(request: HttpRequest, site_id: int, start: str) -> HttpResponse:
    """POST: ``do_sign_off_reconciliation``; a refusal shows the sheet with the message (400)."""
    site, period = _site_and_period(request, site_id, start)
    if not may_reconcile(request.user, site):
        raise PermissionDenied
    form = SignOffForm(request.POST)
    if form.is_valid():
        ok, _done = _run(
            form,
            lambda: actions.do_sign_off_reconciliation(
                site=site, period_start=period.start, actor=request.user, note=form.cleaned_data["note"]
            ),
        )
        if ok:
            messages.success(request, _("Signed off: the period is locked."))
            return HttpResponseRedirect(_sheet_url(site, period))
    return _render_sheet(request, rec.reconciliation_sheet(site, period), form, status=400)
