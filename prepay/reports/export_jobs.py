"""Excel exports of any size, prepared in the background with progress, then downloaded (issue 17).

Contract:

* :func:`ask` checks the report and its filters as the report page does (a refusal raises
  :class:`ExportRefused` with the message to show, and writes nothing) and queues an
  :class:`~prepay.reports.models.ExportJob` for the asking user, in their language.
* A job is run by whoever claims it first: a thread the web process starts when the job is queued
  (so a one-PC installation needs nothing else), or the billing daemon's tick (``runbilling``), which
  also takes over a job whose claim ran out — a web process that was restarted half way. A claim is a
  conditional ``UPDATE`` (the row still queued, or its claim expired), so two runners never write the
  same job, on SQLite as on PostgreSQL.
* :func:`run` reads the rows in the scope of the user who asked (never wider: their memberships at
  the time it runs), writes the workbook row by row to ``<PREPAY_VAR_DIR>/exports`` under a temporary
  name (:func:`prepay.reports.exports.write_xlsx`: constant memory), records progress every
  :data:`~prepay.reports.exports.PROGRESS_EVERY` rows (renewing the claim), and renames the file into
  place when it is whole. A job that fails three times is marked failed with the reason.
* Files are kept :data:`KEEP` and then deleted; the job then shows as expired.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import F, Q
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from prepay.reports.definitions import NOT_FILTERS, REPORTS, bind_filters, invalid_filters_text
from prepay.reports.export_audit import record_export, site_chosen
from prepay.reports.exports import download_name, write_xlsx
from prepay.reports.models import ExportJob, ExportStatus

log = logging.getLogger(__name__)

CLAIM_FOR = timedelta(minutes=5)
KEEP = timedelta(hours=24)
MAX_ATTEMPTS = 3


class ExportRefused(Exception):
    """The export cannot be queued: ``message`` says why, in the active language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def folder() -> Path:
    path = Path(settings.VAR_DIR) / "exports"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def file_of(job: ExportJob) -> Path:
    return folder() / f"{job.token}.xlsx"


def ask(user: Any, slug: str, query: QueryDict) -> ExportJob:
    """Queue an Excel export of report ``slug`` with the filters in ``query`` for ``user``."""
    definition = REPORTS.get(slug)
    if definition is None:
        raise ExportRefused(_("There is no such report."))
    fs = bind_filters(definition, query, SimpleNamespace(user=user, GET=query))
    if not fs.is_valid():
        raise ExportRefused(invalid_filters_text(fs))
    params = query.copy()
    for name in (*NOT_FILTERS, "csrfmiddlewaretoken"):
        params.pop(name, None)
    return ExportJob.objects.create(
        report=slug,
        params=params.urlencode(),
        language=translation.get_language() or settings.LANGUAGE_CODE,
        created_by=user,
        filename=download_name(f"{slug}.xlsx"),
    )


def start_in_background(job: ExportJob) -> None:
    """After the queuing transaction commits, run ``job`` in a thread of this process."""

    def go() -> None:
        try:
            claimed = claim(job.pk)
            if claimed is not None:
                run(claimed)
        finally:
            connections.close_all()

    transaction.on_commit(lambda: threading.Thread(target=go, name=f"export-{job.pk}", daemon=True).start())


def claim(pk: int | None = None, now: datetime | None = None) -> ExportJob | None:
    """Claim job ``pk`` (or the oldest claimable job): queued, or running with its claim run out."""
    now = now or timezone.now()
    claimable = ExportJob.objects.filter(
        Q(status=ExportStatus.QUEUED) | Q(status=ExportStatus.RUNNING, claimed_until__lt=now)
    )
    if pk is not None:
        claimable = claimable.filter(pk=pk)
    for job in claimable.order_by("created_at")[:5]:
        won = ExportJob.objects.filter(
            pk=job.pk, status=job.status, claimed_until=job.claimed_until, attempts=job.attempts
        ).update(status=ExportStatus.RUNNING, claimed_until=now + CLAIM_FOR, attempts=F("attempts") + 1)
        if won:
            job.refresh_from_db()
            return job
    return None


def run(job: ExportJob) -> ExportJob:
    """Write ``job``'s workbook (see the module docstring); the job comes back done or failed."""
    target = file_of(job)
    partial = target.with_suffix(f".{job.attempts}.part")  # a runner that lost its claim writes its own
    try:
        with translation.override(job.language):
            definition, fs = _report(job)
            data = definition.build(job.created_by, fs)
            total = len(data.rows)
            ExportJob.objects.filter(pk=job.pk).update(total=total)

            def progress(done: int) -> None:
                ExportJob.objects.filter(pk=job.pk).update(
                    done=done, claimed_until=timezone.now() + CLAIM_FOR
                )

            written = write_xlsx(data, partial, progress)
        partial.replace(target)
    except Exception as exc:  # noqa: BLE001 - any failure is the job's, reported on its page
        partial.unlink(missing_ok=True)
        log.exception("export %s failed", job.pk)
        failed = job.attempts >= MAX_ATTEMPTS or isinstance(exc, ExportRefused)
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.FAILED if failed else ExportStatus.QUEUED,
            error=str(getattr(exc, "message", exc))[:300],
            claimed_until=None,
        )
    else:
        with transaction.atomic():
            ExportJob.objects.filter(pk=job.pk).update(
                status=ExportStatus.DONE,
                done=written,
                total=written,
                size=target.stat().st_size,
                finished_at=timezone.now(),
                claimed_until=None,
                error="",
            )
            record_export(
                user=job.created_by,
                report=job.report,
                title=definition.title,
                fmt="xlsx",
                rows=written,
                filters=job.params,
                site=site_chosen(fs),
            )
    job.refresh_from_db()
    return job


def _report(job: ExportJob) -> tuple[Any, Any]:
    """The report's definition and its filters, bound and valid in the asker's scope of today."""
    definition = REPORTS.get(job.report)
    if definition is None:
        raise ExportRefused(_("There is no such report."))
    query = QueryDict(job.params)
    fs = bind_filters(definition, query, SimpleNamespace(user=job.created_by, GET=query))
    if not fs.is_valid():  # the user's scope shrank since they asked
        raise ExportRefused(invalid_filters_text(fs))
    return definition, fs


def run_due() -> int:
    """The billing daemon's share: run every claimable job, then delete files kept :data:`KEEP`."""
    ran = 0
    try:
        while (job := claim()) is not None:
            run(job)
            ran += 1
        expire()
    except Exception:  # noqa: BLE001 - exports never stop billing: the next pass tries again
        log.exception("background exports")
    return ran


def expire(now: datetime | None = None) -> int:
    """Delete the files of exports finished more than :data:`KEEP` ago; their jobs show as expired."""
    old = ExportJob.objects.filter(status=ExportStatus.DONE, finished_at__lt=(now or timezone.now()) - KEEP)
    n = 0
    for job in old:
        file_of(job).unlink(missing_ok=True)
        n += ExportJob.objects.filter(pk=job.pk, status=ExportStatus.DONE).update(status=ExportStatus.EXPIRED)
    return n


__all__ = ["ExportRefused", "ask", "claim", "expire", "file_of", "run", "run_due", "start_in_background"]
