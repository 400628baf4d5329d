"""The import page and template downloads: thin views over :func:`run_import` and the samples."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language

from prepay.imports.columns import COLUMNS, KINDS
from prepay.imports.forms import ImportForm
from prepay.imports.importer import may_import, run_import
from prepay.imports.samples import CONTENT_TYPES, FORMATS, template_bytes


def _require_import(request: HttpRequest) -> None:
    if not may_import(request.user):
        raise PermissionDenied


@login_required
def import_page(request: HttpRequest) -> HttpResponse:
    """GET: the form; POST: validate (and unless dry run, write) the file, then show the report."""
    _require_import(request)
    report = None
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        report = run_import(
            form.cleaned_data["kind"],
            upload.read(),
            actor=request.user,
            filename=upload.name or "",
            dry_run=form.cleaned_data["dry_run"],
        )
    context = {"form": form, "report": report, "kinds": KINDS, "formats": FORMATS, "columns": COLUMNS}
    return render(request, "imports/import.html", context, status=200 if report is None or report.ok else 422)


@login_required
def template_download(request: HttpRequest, kind: str, fmt: str) -> HttpResponse:
    """The template file; headers in Chinese when the page is (or ``?headers=zh``), example from the user's data."""
    _require_import(request)
    language = request.GET.get("headers") or ("zh" if (get_language() or "").startswith("zh") else "en")
    data = template_bytes(kind, fmt, language=language, actor=request.user)
    response = HttpResponse(data, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="prepay-{kind}-template.{fmt}"'
    return response
