"""The background exports' screens: ask for one (POST from a report page), follow its progress on
"My exports", download the file. Every page is the asking user's own: another user's export is
"not found", whoever they are. These pages read the primary (a job just queued may not have reached
a read replica yet)."""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from prepay.reports import export_jobs
from prepay.reports.models import ExportJob, ExportStatus
from prepay.reports.views import reports_access

#: the exports "My exports" lists
SHOWN = 20
#: seconds between two looks at the progress while an export is being prepared
POLL = 1


def _own(request: HttpRequest) -> list[ExportJob]:
    return list(ExportJob.objects.filter(created_by_id=request.user.pk).order_by("-created_at")[:SHOWN])


@require_POST
@reports_access
def ask(request: HttpRequest, slug: str) -> HttpResponse:
    """Queue an Excel export of report ``slug`` with the posted filters and show "My exports"."""
    try:
        job = export_jobs.ask(request.user, slug, request.POST)
    except export_jobs.ExportRefused as refused:
        context = {"jobs": _own(request), "refusal": refused.message, "poll": POLL}
        return render(request, "reports/exports.html", context, status=400)
    if settings.PREPAY_EXPORTS_IN_WEB:
        export_jobs.start_in_background(job)
    return redirect(f"{reverse('reports:exports')}?new={job.token}")


@require_GET
@reports_access
def exports(request: HttpRequest) -> HttpResponse:
    """The user's latest exports with their progress (htmx asks again while one is being prepared)."""
    jobs = _own(request)
    context = {
        "jobs": jobs,
        "new": request.GET.get("new", ""),
        "poll": POLL,
        "active": any(j.active for j in jobs),
    }
    template = "reports/_exports.html" if request.headers.get("HX-Request") else "reports/exports.html"
    return render(request, template, context)


@require_GET
@reports_access
def download(request: HttpRequest, token: UUID) -> HttpResponseBase:
    """The file of the user's own finished export; 404 for anyone else's, 410 once it has expired."""
    job = ExportJob.objects.filter(token=token, created_by_id=request.user.pk).first()
    if job is None:
        raise Http404
    path = export_jobs.file_of(job)
    if job.status == ExportStatus.EXPIRED or (job.status == ExportStatus.DONE and not path.exists()):
        return render(request, "reports/exports.html", {"jobs": _own(request), "gone": job}, status=410)
    if job.status != ExportStatus.DONE:
        raise Http404
    return FileResponse(path.open("rb"), as_attachment=True, filename=job.filename)
