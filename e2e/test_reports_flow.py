"""Finance exports the sales detail and it sums to the ledger; roles and sites are kept apart."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from openpyxl import load_workbook
from playwright.sync_api import expect

from prepay.domain.reporting import ten_day_period
from prepay.reports import export_jobs
from prepay.reports.exports import HEADER_ROW
from prepay.reports.queries import day_bounds, local_today
from prepay.vending.actions import do_vend
from prepay.vending.models import EntryKind, JournalLine, LedgerEntry
from tests import factories as f

pytestmark = pytest.mark.e2e


class FinanceExportTestCase:
    def test_it_exports_the_sales_detail_that_sums_to_the_ledger(
        self, e2e_db, shop, live_server, page, login, shot, tmp_path
    ):
        for i, amount in enumerate(["50.00", "20.50", "7.30"]):
            do_vend(
                account=shop.account,
                actor=shop.world.cashier,
                point=shop.point,
                idempotency_key=f"e2e-{i}",
                amount=amount,
            )
        login(page, shop.world.finance)
        page.click("#nav-reports")
        page.click("#link-report-sales")
        page.wait_for_selector("#report-sales")
        shot(page, "1-sales-detail")
        with page.expect_download() as download:
            page.click("#export-xlsx")
        assert download.value.suggested_filename.endswith(".xlsx")
        path = tmp_path / download.value.suggested_filename
        download.value.save_as(path)
        ws = load_workbook(path).active
        headers = [ws.cell(row=HEADER_ROW, column=c).value for c in range(1, ws.max_column + 1)]
        amount_col = headers.index("Amount paid") + 1
        total_row = next(
            r for r in range(ws.max_row, HEADER_ROW, -1) if ws.cell(row=r, column=1).value == "Total"
        )
        total = Decimal(str(ws.cell(row=total_row, column=amount_col).value))
        lines = [
            Decimal(str(ws.cell(row=r, column=amount_col).value)) for r in range(HEADER_ROW + 1, total_row)
        ]

        start, end = day_bounds(ten_day_period(local_today()))
        payments = LedgerEntry.objects.filter(
            kind=EntryKind.PAYMENT,
            account__site__group=shop.world.a1.group,
            created_at__gte=start,
            created_at__lt=end,
        ).aggregate(s=Sum("amount"))["s"]
        cash = JournalLine.objects.filter(
            book="cash", site__group=shop.world.a1.group, created_at__gte=start, created_at__lt=end
        ).aggregate(s=Sum("amount"))["s"]
        assert len(lines) == 3
        assert total == sum(lines) == payments == cash == Decimal("77.80")

        page.goto(f"{live_server.url}/reports/")
        page.click("#link-dashboard")
        # (locator expectations, not wait_for_function: the Content-Security-Policy forbids eval)
        expect(page.locator("#live-vends tbody tr")).to_have_count(3)
        assert page.inner_text("#today-count") == "3"
        shot(page, "2-dashboard")
        # the live monitor picks up a new sale without a reload
        page.evaluate("window.__same_page = true")
        do_vend(
            account=shop.account,
            actor=shop.world.cashier,
            point=shop.point,
            idempotency_key="e2e-live",
            amount="9.90",
        )
        expect(page.locator("#live-vends tbody tr")).to_have_count(4, timeout=15000)
        assert page.evaluate("window.__same_page === true")
        assert "9.90" in page.inner_text("#live-vends tbody tr:first-child")
        expect(page.locator("#today-count")).to_have_text("4")
        shot(page, "3-dashboard-live")


class RolesAndSitesTestCase:
    def test_it_keeps_a_cashier_out_of_the_reports(self, e2e_db, world, live_server, page, login, shot):
        login(page, world.cashier)
        assert page.locator("#nav-backoffice").count() == 0 and page.locator("#nav-reports").count() == 0
        response = page.goto(f"{live_server.url}/reports/")
        assert response is not None and response.status == 403
        response = page.goto(f"{live_server.url}/reports/sales/?export=xlsx")
        assert response is not None and response.status == 403
        shot(page, "1-reports-refused")

    def test_it_keeps_a_cashier_out_of_the_back_office(self, e2e_db, world, live_server, page, login, shot):
        login(page, world.cashier)
        response = page.goto(f"{live_server.url}/admin/")
        shot(page, "1-admin")
        assert response is not None
        assert response.status == 403, "the cashier reached the back office"

    def test_it_shows_a_user_of_site_a_nothing_of_site_b(self, e2e_db, world, live_server, page, login, shot):
        mine = f.account(world.a1, meter_=world.a1.meters[0])
        theirs = f.account(world.a2, meter_=world.a2.meters[0])
        login(page, world.clerk)  # clerk at A1
        page.goto(f"{live_server.url}/counter/accounts/")
        html = page.content()
        assert mine.number in html and theirs.number not in html
        shot(page, "1-accounts")
        response = page.goto(f"{live_server.url}/counter/accounts/{theirs.pk}/")
        assert response is not None and response.status == 404
        # a site-level reader of reports sees only their site
        login(page, world.auditor)
        page.goto(f"{live_server.url}/reports/arrears/")
        options = page.locator("#id_site option").all_inner_texts()
        assert "Site a1" in options and "Site a2" not in options
        response = page.goto(f"{live_server.url}/reports/sales/?site={world.a2.site.pk}")
        assert response is not None and response.status == 400
        shot(page, "2-other-site-refused")
        assert re.search(r"Site a2", page.inner_text("#report-filters")) is None


class BackgroundExportTestCase:
    def test_a_large_export_is_prepared_in_the_background_and_downloaded(
        self, e2e_db, shop, live_server, page, login, shot, tmp_path, settings
    ):
        settings.PREPAY_EXPORT_DIRECT_ROWS = 2  # three sales make this a "large" export
        settings.VAR_DIR = tmp_path / "var"
        # The test database on SQLite is in memory, shared between threads with table locks that do
        # not wait: a thread of its own would meet "table is locked". There the billing daemon's part
        # (claim and run) runs in this thread, which shares the live server's connection; on PostgreSQL
        # the web process's own thread prepares the file, as in production.
        in_memory = connection.vendor == "sqlite"
        settings.PREPAY_EXPORTS_IN_WEB = not in_memory
        for i, amount in enumerate(["50.00", "20.50", "7.30"]):
            do_vend(
                account=shop.account,
                actor=shop.world.cashier,
                point=shop.point,
                idempotency_key=f"e2e-bg-{i}",
                amount=amount,
            )
        login(page, shop.world.finance)
        page.goto(f"{live_server.url}/reports/sales/")
        expect(page.locator("#export-background")).to_be_visible()
        shot(page, "1-offers-background-export")
        page.click("#export-xlsx")
        page.wait_for_url(re.compile(r".*/reports/exports/\?new="))
        if in_memory:
            expect(page.locator("#export-list tr.new")).to_have_attribute("data-status", "queued")
            shot(page, "2-export-waiting")
            job = export_jobs.claim()
            assert job is not None and export_jobs.run(job).done == 3
        # the list looks again by itself until the file is ready
        link = page.locator("#export-list .export-download")
        expect(link).to_have_count(1, timeout=20000)
        expect(page.locator("#export-list tr.new")).to_have_attribute("data-status", "done")
        shot(page, "3-export-ready")
        with page.expect_download() as download:
            link.click()
        path = tmp_path / download.value.suggested_filename
        download.value.save_as(path)
        assert path.name.startswith("prepay-sales-") and path.suffix == ".xlsx"
        ws = load_workbook(path).active
        headers = [ws.cell(row=HEADER_ROW, column=c).value for c in range(1, ws.max_column + 1)]
        amount_col = headers.index("Amount paid") + 1
        values = [ws.cell(row=r, column=amount_col).value for r in range(HEADER_ROW + 1, ws.max_row + 1)]
        assert [Decimal(str(v)) for v in values] == [
            Decimal("50"),
            Decimal("20.5"),
            Decimal("7.3"),
            Decimal("77.8"),
        ]
        assert ws.cell(row=ws.max_row, column=1).value == "Total"
