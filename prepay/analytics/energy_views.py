"""Energy analysis screens (能耗分析): one site's consumption by item and area, its charts (ECharts,
static/js/analytics-energy.js from ``data.json``) and its Excel / PDF exports.

Access: see :mod:`prepay.analytics.access` — a site outside the user's sites answers 404, a user who
may not see the analysis anywhere (a cashier) 403. Filters that make no sense are form errors (400).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prepay.analytics.access import sites, viewer_required
from prepay.analytics.energy import AREAS, GRAINS, EnergyQuery, EnergyReport, energy_report
from prepay.analytics.energy_exports import energy_pdf, energy_xlsx
from prepay.customers.models import Building
from prepay.reports.exports import PDF_TYPE, XLSX_TYPE
from prepay.reports.filtersets import DATE, EARLIEST, LATEST
from prepay.tenancy.models import Site

MAX_DAYS = {"day": 366, "month": 3660, "year": 36600}
GRAIN_NAMES = {"day": gettext_lazy("Day"), "month": gettext_lazy("Month"), "year": gettext_lazy("Year")}
AREA_NAMES = {
    "building": gettext_lazy("Building"),
    "floor": gettext_lazy("Floor"),
    "unit": gettext_lazy("Unit"),
}


class EnergyForm(forms.Form):
    date_from = forms.DateField(label=gettext_lazy("From"), widget=DATE)
    date_to = forms.DateField(label=gettext_lazy("To"), widget=DATE)
    grain = forms.ChoiceField(label=gettext_lazy("Per"), choices=list(GRAIN_NAMES.items()))
    building = forms.ModelChoiceField(
        label=gettext_lazy("Building"), queryset=Building.objects.none(), required=False
    )
    area = forms.ChoiceField(label=gettext_lazy("Areas by"), choices=list(AREA_NAMES.items()))
    detail = forms.BooleanField(label=gettext_lazy("Sub-items"), required=False)

    def __init__(self, *args: Any, site: Site, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["building"].queryset = Building.objects.filter(site=site).order_by("code")  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end, grain = data.get("date_from"), data.get("date_to"), data.get("grain")
        for name in ("date_from", "date_to"):
            value = data.get(name)
            if value is not None and not EARLIEST <= value <= LATEST:
                self.add_error(
                    name,
                    _("Enter a date between %(first)s and %(last)s.") % {"first": EARLIEST, "last": LATEST},
                )
        if start and end and end < start:
            self.add_error("date_to", _("The end date is before the start date."))
        elif start and end and grain in MAX_DAYS and (end - start).days + 1 > MAX_DAYS[grain]:
            self.add_error("date_to", _("Too long a period for this grain: choose a coarser one."))
        return data


def defaults(today: date) -> dict[str, str]:
    """The last twelve months to yesterday, per month, areas by building."""
    end = today - timedelta(days=1)
    start = (end.replace(day=1) - timedelta(days=330)).replace(day=1)
    return {"date_from": start.isoformat(), "date_to": end.isoformat(), "grain": "month", "area": "building"}


def _site(request: HttpRequest, pk: int) -> Site:
    site = sites(request.user).filter(pk=pk).first()
    if site is None:
        raise Http404
    return site


def _form(request: HttpRequest, site: Site) -> EnergyForm:
    params = request.GET.copy()
    for key, value in defaults(timezone.localdate()).items():
        if not params.get(key):
            params[key] = value
    return EnergyForm(params, site=site)


def _query(site: Site, form: EnergyForm) -> EnergyQuery:
    d = form.cleaned_data
    assert d["grain"] in GRAINS and d["area"] in AREAS
    building = d.get("building")
    return EnergyQuery(
        site.pk,
        d["date_from"],
        d["date_to"],
        d["grain"],
        building.pk if building else None,
        d["area"],
        bool(d["detail"]),
    )


@viewer_required
def index(request: HttpRequest) -> HttpResponse:
    """The user's sites; with only one, straight to it."""
    chosen = list(sites(request.user))
    if len(chosen) == 1:
        return HttpResponseRedirect(reverse("analytics:energy", args=[chosen[0].pk]))
    return render(request, "analytics/energy_index.html", {"sites": chosen})


@viewer_required
def energy(request: HttpRequest, site: int) -> HttpResponse:
    """The page; ``?export=xlsx`` or ``pdf`` downloads the same figures with their charts."""
    obj = _site(request, site)
    form = _form(request, obj)
    export = request.GET.get("export", "")
    if not form.is_valid():
        if export:
            lines = [_("Invalid filters.")] + [
                f"{form.fields[n].label}: {e}" for n, es in form.errors.items() for e in es
            ]
            return HttpResponse("\n".join(lines) + "\n", status=400, content_type="text/plain; charset=utf-8")
        return render(request, "analytics/energy.html", {"site": obj, "form": form}, status=400)
    report = energy_report(_query(obj, form))
    if export in ("xlsx", "pdf"):
        content, kind = (
            (energy_xlsx(obj, report), XLSX_TYPE) if export == "xlsx" else (energy_pdf(obj, report), PDF_TYPE)
        )
        response = HttpResponse(content, content_type=kind)
        response["Content-Disposition"] = f'attachment; filename="prepay-energy-{obj.code}.{export}"'
        return response
    if export:
        raise Http404
    query = request.GET.copy()
    query.pop("export", None)
    context = {"site": obj, "form": form, "report": report, "query": query.urlencode()}
    return render(request, "analytics/energy.html", context)


def chart_data(report: EnergyReport) -> dict[str, Any]:
    def s(v: Any) -> str | None:
        return None if v is None else str(v)

    return {
        "buckets": report.buckets,
        "series": [{"name": name, "data": [s(v) for v in values]} for name, values in report.series],
        "items": [{"name": i["item"], "value": s(i["energy"])} for i in report.items if i["energy"]],
        "areas": {
            "names": [a["area"] for a in report.areas],
            "energy": [s(a["energy"]) for a in report.areas],
        },
        "per_m2": [s(a["per_m2"]) for a in report.areas],
        "tou": [{"name": t["period"], "value": s(t["energy"])} for t in report.tou if t["energy"]],
    }


@viewer_required
def data(request: HttpRequest, site: int) -> JsonResponse:
    """The page's charts as JSON (same filters as the page)."""
    obj = _site(request, site)
    form = _form(request, obj)
    if not form.is_valid():
        return JsonResponse({"errors": {k: [str(e) for e in v] for k, v in form.errors.items()}}, status=400)
    return JsonResponse(chart_data(energy_report(_query(obj, form))))
