"""Excel and PDF exports: real numbers, formats, frozen header, language, scoping."""

from __future__ import annotations

import io
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse
from openpyxl import load_workbook

from prepay.domain.reporting import ten_day_period
from prepay.reports.exports import HEADER_ROW
from prepay.reports.queries import day_bounds, local_today
from prepay.vending.models import JournalLine

SLUGS = ["sales", "allocation", "recovery", "arrears"]


def workbook(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    return load_workbook(io.BytesIO(response.content)).active


def total_row(ws) -> int:
    for r in range(ws.max_row, HEADER_ROW, -1):
        if ws.cell(row=r, column=1).value in ("Total", "合计"):
            return r
    raise AssertionError("no totals row")


def column(ws, header: str) -> int:
    for c in range(1, ws.max_column + 1):
        if ws.cell(row=HEADER_ROW, column=c).value == header:
            return c
    raise AssertionError(f"no column {header!r}")


class SalesExcelTestCase:
    def test_it_sums_to_the_cash_journal(self, client, sales):
        client.force_login(sales.world.finance)
        ws = workbook(client.get(reverse("reports:report", args=["sales"]), {"export": "xlsx"}))
        amount = column(ws, "Amount paid")
        total = ws.cell(row=total_row(ws), column=amount).value
        rows = [ws.cell(row=r, column=amount).value for r in range(HEADER_ROW + 1, total_row(ws))]
        assert len(rows) == 3
        assert Decimal(str(total)) == sum(Decimal(str(v)) for v in rows) == Decimal("170.75")
        start, end = day_bounds(ten_day_period(local_today()))
        journal = JournalLine.objects.filter(
            book="cash", site__group=sales.world.a1.group, created_at__gte=start, created_at__lt=end
        )
        assert Decimal(str(total)) == journal.aggregate(s=Sum("amount"))["s"]

    def test_it_formats_freezes_and_sizes(self, client, sales):
        client.force_login(sales.world.finance)
        ws = workbook(client.get(reverse("reports:report", args=["sales"]), {"export": "xlsx"}))
        amount = column(ws, "Amount paid")
        assert ws.cell(row=HEADER_ROW + 1, column=amount).number_format == "#,##0.00"
        assert ws.cell(row=total_row(ws), column=amount).number_format == "#,##0.00"
        assert (
            ws.cell(row=HEADER_ROW + 1, column=column(ws, "Energy (kWh / m³)")).number_format == "#,##0.000"
        )
        assert ws.freeze_panes == f"A{HEADER_ROW + 1}"
        assert ws.column_dimensions["A"].width >= 19  # "YYYY-MM-DD hh:mm:ss"

    def test_it_writes_headers_in_the_request_language(self, client, sales):
        client.force_login(sales.world.finance)
        page = client.get(
            reverse("reports:report", args=["sales"]), {"export": "xlsx"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
        )
        ws = workbook(page)
        assert ws.cell(row=total_row(ws), column=1).value == "合计"
        assert ws.cell(row=1, column=1).value == "售电明细表"
        assert "金额" in "".join(
            str(ws.cell(row=HEADER_ROW, column=c).value) for c in range(1, ws.max_column + 1)
        )

    def test_it_exports_only_the_users_sites(self, client, sales):
        client.force_login(sales.world.auditor)
        ws = workbook(client.get(reverse("reports:report", args=["sales"]), {"export": "xlsx"}))
        site = column(ws, "Site")
        assert {ws.cell(row=r, column=site).value for r in range(HEADER_ROW + 1, total_row(ws))} == {
            "Site a1"
        }


class AllExportsTestCase:
    @pytest.mark.parametrize("slug", SLUGS)
    def test_it_exports_every_report_to_excel(self, client, sales, slug):
        client.force_login(sales.world.finance)
        ws = workbook(client.get(reverse("reports:report", args=[slug]), {"export": "xlsx"}))
        assert ws.cell(row=HEADER_ROW, column=1).value == "Site" or slug == "sales"
        total_row(ws)

    @pytest.mark.parametrize("slug", SLUGS)
    def test_it_exports_every_report_to_pdf(self, client, sales, slug, tmp_path):
        client.force_login(sales.world.finance)
        page = client.get(
            reverse("reports:report", args=[slug]), {"export": "pdf"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
        )
        assert page.status_code == 200 and page["Content-Type"] == "application/pdf"
        assert page.content.startswith(b"%PDF")
        if shutil.which("pdftotext") is None:
            return
        path = tmp_path / "r.pdf"
        path.write_bytes(page.content)
        text = subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "合计" in text  # the CJK font is embedded: Chinese text survives
        assert "Site a1" in text and "Site b1" not in text

    @pytest.mark.parametrize("slug", SLUGS)
    def test_it_refuses_exports_to_a_cashier(self, client, sales, slug):
        client.force_login(sales.world.cashier)
        assert client.get(reverse("reports:report", args=[slug]), {"export": "xlsx"}).status_code == 403
        assert client.get(reverse("reports:report", args=[slug]), {"export": "pdf"}).status_code == 403
