"""A clerk finds a thief among the suspicious accounts, reads why, sees the evidence and records the
visit; finance reads the energy analysis. Debian's Chromium, the live server, the simulated fleet."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from prepay.analytics.models import Case
from prepay.analytics.run import analyse_site
from tests.analytics import fleet as sim

pytestmark = pytest.mark.e2e


@pytest.fixture
def analysed(e2e_db, world):
    fleet = sim.build(world)
    analyse_site(world.a1.site, sim.DAY)
    return fleet


class SuspiciousAccountsFlowTestCase:
    def test_a_clerk_checks_a_case_with_its_evidence(self, analysed, world, live_server, page, login, shot):
        login(page, world.clerk)
        page.click("#nav-analytics")
        expect(page.locator("#cases")).to_be_visible()
        divert = Case.objects.get(account=analysed.account("divert"))
        page.select_option("#id_signal", "low_own")
        page.click("#apply-filters")
        row = page.locator("#cases tbody tr", has_text=divert.account.number)
        expect(row).to_contain_text("below its own median of 7.6 kWh/day")
        shot(page, "1-list")
        row.get_by_role("link", name=divert.account.number).click()
        expect(page.locator("#case-reasons")).to_contain_text(
            "used 0.6 kWh/day for 9 days, 92 % below its own median"
        )
        expect(page.locator("#chart-evidence")).to_have_attribute("data-drawn", "1")
        expect(page.locator("#chart-evidence canvas")).to_have_count(1)
        shot(page, "2-case")
        page.click("#check-submit")  # no outcome, no note: refused, nothing changed
        expect(page.locator("#check-error")).to_contain_text("Choose what the check found")
        page.select_option("#id_outcome", "theft")
        page.fill("#id_note", "A cable round the meter in the box; photographed and removed.")
        page.click("#check-submit")
        expect(page.locator("#case-status")).to_contain_text("Theft confirmed")
        shot(page, "3-checked")
        divert.refresh_from_db()
        assert divert.status == "checked" and divert.checked_by == world.clerk

    def test_the_reasons_read_in_chinese(self, analysed, world, live_server, page, login, shot):
        login(page, world.clerk)
        page.select_option("#lang-select", "zh-hans")
        page.click("#lang-submit")
        case = Case.objects.get(account=analysed.account("vacant"))
        page.goto(f"{live_server.url}/analytics/cases/{case.pk}/")
        expect(page.locator("#case-reasons")).to_contain_text(
            "连续 8 天日均用电 0.0 kWh，而继电器合闸、电表在线"
        )
        shot(page, "1-zh")


class EnergyAnalysisFlowTestCase:
    def test_finance_reads_the_energy_by_item_and_area(self, analysed, world, live_server, page, login, shot):
        login(page, world.finance)
        page.goto(
            f"{live_server.url}/analytics/energy/{world.a1.site.pk}/?date_from=2026-05-06&date_to=2026-06-11&grain=day"
        )
        expect(page.locator("#energy-charts")).to_have_attribute("data-drawn", "1")
        expect(page.locator("#chart-series canvas")).to_have_count(1)
        expect(page.locator("#energy-items")).to_contain_text("Unclassified")
        shot(page, "1-energy")
        with page.expect_download() as download:
            page.click("#export-pdf")
        assert re.search(r"prepay-energy-a1\.pdf$", download.value.suggested_filename)
