"""Excel exports prepared in the background (issue 17): asked from a report page, claimed by one
runner, written a chunk at a time with progress, downloaded only by the person who asked, kept a day."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from prepay.billing import jobs as billing_jobs
from prepay.domain.reporting import ten_day_period
from prepay.reports import export_jobs, exports
from prepay.reports.base import Col, ReportData
from prepay.reports.exports import HEADER_ROW
from prepay.reports.models import ExportJob, ExportStatus
from prepay.reports.queries import local_today

SALES = reverse("reports:report", args=["sales"])
ASK = reverse("reports:export-ask", args=["sales"])
LIST = reverse("reports:exports")


@pytest.fixture(autouse=True)
def _files(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def _ask(client, user, **filters):
    client.force_login(user)
    return client.post(ASK, filters)


def _rows(content: bytes) -> list[tuple]:
    ws = load_workbook(io.BytesIO(content)).active
    return [tuple(c.value for c in row) for row in ws.iter_rows(min_row=HEADER_ROW + 1)]


def _polls(page: str) -> bool:
    """Whether the export list asks again by itself (htmx) — only while an export is prepared."""
    return re.search(r'id="export-list"[^>]*hx-trigger="every', page) is not None


def _download(client, job):
    response = client.get(reverse("reports:export-download", args=[job.token]))
    return response, b"".join(response.streaming_content) if response.status_code == 200 else b""


class AskTestCase:
    def test_finance_asks_follows_and_downloads_the_sales_detail(self, client, sales):
        answer = _ask(client, sales.world.finance)
        job = ExportJob.objects.get()
        assert answer.status_code == 302 and answer["Location"] == f"{LIST}?new={job.token}"
        assert job.status == ExportStatus.QUEUED and job.report == "sales"
        page = client.get(answer["Location"])
        assert page.status_code == 200 and f'id="export-{job.token}"' in page.content.decode()
        assert _polls(page.content.decode())  # it looks again while the file is prepared
        job = export_jobs.run(export_jobs.claim(job.pk))
        assert job.status == ExportStatus.DONE and job.done == job.total == 3 and job.size > 0
        page = client.get(LIST).content.decode()
        assert "export-download" in page and not _polls(page)
        response, content = _download(client, job)
        assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
        rows = _rows(content)
        assert rows[-1][0] == "Total" and len(rows) == 4
        assert Decimal(str(rows[-1][10])) == Decimal("170.75")

    def test_the_filters_asked_with_are_the_filters_exported(self, client, sales):
        _ask(client, sales.world.finance, site=sales.world.a2.site.pk, page="3", sort="-amount")
        job = ExportJob.objects.get()
        assert "page" not in job.params and "sort" not in job.params
        _response, content = _download(client, export_jobs.run(export_jobs.claim(job.pk)))
        assert {r[3] for r in _rows(content)[:-1]} == {"Site a2"}

    def test_it_writes_in_the_language_it_was_asked_in(self, client, sales):
        client.force_login(sales.world.finance)
        client.post(ASK, {}, HTTP_ACCEPT_LANGUAGE="zh-hans")
        job = export_jobs.run(export_jobs.claim(ExportJob.objects.get().pk))
        ws = load_workbook(export_jobs.file_of(job)).active
        assert ws.cell(row=1, column=1).value == "售电明细表"

    def test_an_auditor_exports_only_their_site(self, client, sales):
        _ask(client, sales.world.auditor)
        job = export_jobs.run(export_jobs.claim(ExportJob.objects.get().pk))
        _response, content = _download(client, job)
        assert {r[3] for r in _rows(content)[:-1]} == {"Site a1"}


class RefusalsTestCase:
    def test_invalid_filters_are_refused_and_nothing_is_queued(self, client, sales):
        answer = _ask(client, sales.world.finance, date_from="yesterday")
        assert answer.status_code == 400 and "Invalid filters." in answer.content.decode()
        assert not ExportJob.objects.exists()

    def test_another_groups_site_is_refused(self, client, sales):
        answer = _ask(client, sales.finance_b, site=sales.world.a1.site.pk)
        assert answer.status_code == 400 and not ExportJob.objects.exists()

    def test_an_unknown_report_is_refused(self, client, sales):
        client.force_login(sales.world.finance)
        answer = client.post(reverse("reports:export-ask", args=["nothing"]))
        assert answer.status_code == 400 and "There is no such report." in answer.content.decode()
        assert not ExportJob.objects.exists()

    @pytest.mark.parametrize("role", ["cashier", "clerk"])
    def test_roles_without_reports_are_refused(self, client, sales, role):
        assert _ask(client, getattr(sales.world, role)).status_code == 403
        assert client.get(LIST).status_code == 403
        assert not ExportJob.objects.exists()

    def test_asking_needs_a_post(self, client, sales):
        client.force_login(sales.world.finance)
        assert client.get(ASK).status_code == 405 and not ExportJob.objects.exists()

    def test_only_the_asker_sees_and_downloads_it(self, client, sales):
        _ask(client, sales.world.finance)
        job = export_jobs.run(export_jobs.claim(ExportJob.objects.get().pk))
        client.force_login(sales.world.auditor)
        assert str(job.token) not in client.get(LIST).content.decode()
        assert _download(client, job)[0].status_code == 404
        client.logout()
        assert _download(client, job)[0].status_code == 302  # to sign-in


class RunnerTestCase:
    def test_one_runner_claims_a_job_and_an_abandoned_claim_is_taken_over(self, client, sales):
        _ask(client, sales.world.finance)
        job = ExportJob.objects.get()
        first = export_jobs.claim(job.pk)
        assert first is not None and first.status == ExportStatus.RUNNING
        assert export_jobs.claim(job.pk) is None  # still claimed
        later = timezone.now() + export_jobs.CLAIM_FOR + timedelta(seconds=1)
        again = export_jobs.claim(job.pk, now=later)
        assert again is not None and again.attempts == 2

    def test_the_billing_daemon_runs_waiting_exports(self, client, sales):
        _ask(client, sales.world.finance)
        _ask(client, sales.world.auditor)
        assert billing_jobs.TICK_WORK["exported"]() == 2
        assert set(ExportJob.objects.values_list("status", flat=True)) == {ExportStatus.DONE}

    def test_a_job_that_cannot_run_fails_with_its_reason_and_leaves_no_file(self, client, sales):
        _ask(client, sales.world.finance)
        ExportJob.objects.update(params="date_from=nonsense")
        job = export_jobs.run(export_jobs.claim())
        assert job.status == ExportStatus.FAILED and "Invalid filters." in job.error
        assert not export_jobs.file_of(job).exists()
        assert not list(export_jobs.folder().glob("*.part"))
        assert job.error in client.get(LIST).content.decode()

    def test_files_are_deleted_a_day_after_they_are_ready(self, client, sales):
        _ask(client, sales.world.finance)
        job = export_jobs.run(export_jobs.claim())
        assert export_jobs.expire() == 0
        assert export_jobs.expire(now=timezone.now() + export_jobs.KEEP + timedelta(minutes=1)) == 1
        assert not export_jobs.file_of(job).exists()
        response, _content = _download(client, job)
        assert response.status_code == 410 and "no longer kept" in response.content.decode()

    def test_progress_is_reported_every_chunk_while_writing(self, monkeypatch):
        monkeypatch.setattr(exports, "PROGRESS_EVERY", 2)
        rows = [{"n": i} for i in range(5)]
        report = ReportData("t", "T", "", [Col("n", "N", "int")], rows, {"n": 10})
        seen: list[int] = []
        out = io.BytesIO()
        assert exports.write_xlsx(report, out, seen.append) == 5
        assert seen == [2, 4, 5]
        assert [r[0] for r in _rows(out.getvalue())] == [0, 1, 2, 3, 4, "Total"]

    def test_a_report_longer_than_a_sheet_goes_on_in_further_sheets(self, monkeypatch):
        from prepay.common import xlsx_stream

        monkeypatch.setattr(xlsx_stream, "MAX_ROWS", HEADER_ROW + 4)  # 4 rows under the heading
        rows = [{"what": f"row {i}", "n": i} for i in range(8)]
        columns = [Col("what", "What", "text"), Col("n", "N", "int")]
        report = ReportData("t", "Sales detail", "", columns, rows, {"n": 28})
        out = io.BytesIO()
        assert exports.write_xlsx(report, out) == 8
        wb = load_workbook(out)
        assert wb.sheetnames == ["Sales detail", "Sales detail (2)", "Sales detail (3)"]
        sheets = [[[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets]
        assert all(s[0][0] == "Sales detail" and s[HEADER_ROW - 1] == ["What", "N"] for s in sheets)
        data = [row for s in sheets for row in s[HEADER_ROW:]]
        assert data == [[f"row {i}", i] for i in range(8)] + [["Total", 28]]
        # every sheet keeps its last row free, so the totals always fit on the last one
        assert [len(s) for s in sheets] == [HEADER_ROW + 3] * 3


class DirectLimitTestCase:
    def test_above_the_limit_a_report_page_offers_the_background_export(self, client, sales, settings):
        settings.PREPAY_EXPORT_DIRECT_ROWS = 1
        client.force_login(sales.world.finance)
        page = client.get(SALES, {"site": sales.world.a1.site.pk}).content.decode()  # 2 rows
        assert 'id="export-background"' in page and 'name="site"' in page
        period = ten_day_period(local_today())  # the period on screen, though the address has none
        assert f'name="date_from" value="{period.start.isoformat()}"' in page
        refused = client.get(SALES, {"export": "xlsx"})
        assert refused.status_code == 400 and "more than a direct download holds" in refused.content.decode()
        assert client.get(SALES, {"export": "pdf"}).status_code == 400

    def test_within_the_limit_the_file_comes_in_the_request(self, client, sales, settings):
        settings.PREPAY_EXPORT_DIRECT_ROWS = 3
        client.force_login(sales.world.finance)
        page = client.get(SALES).content.decode()
        assert 'id="export-background"' not in page and "export=xlsx" in page
        assert client.get(SALES, {"export": "xlsx"}).status_code == 200
