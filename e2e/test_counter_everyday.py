"""A cashier's everyday work in the browser: the home page shows the shift, the customer is found by
building and room as residents say it, and a cash sale takes what was handed over (收款) and shows
the change (找零) — a short payment is refused and sells nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from prepay.customers.models import Building, Unit
from prepay.vending.models import Vend
from tests import factories as f

pytestmark = pytest.mark.e2e


class EverydayCounterTestCase:
    def test_it_finds_by_room_takes_cash_and_gives_change(self, e2e_db, shop, live_server, page, login, shot):
        building = Building.objects.create(site=shop.world.a1.site, code="7", name="7号楼")
        account = f.account(
            shop.world.a1, unit=Unit.objects.create(building=building, number="101"), meter_=shop.sts_meter()
        )
        login(page, shop.world.cashier)
        # the cashier lands on their shift: open, takings so far nothing
        page.goto(f"{live_server.url}/")
        expect(page.locator("#home-shift")).to_be_visible()
        expect(page.locator("#home-takings")).to_contain_text("0.00")
        shot(page, "1-home")

        page.goto(f"{live_server.url}/counter/")
        search = page.locator("#counter-search")
        search.fill("7号楼 101")
        search.press("Enter")
        page.wait_for_selector("#account-card")
        assert account.number in page.inner_text("#account-card")
        value = page.locator("#sell-value")
        expect(value).to_be_focused()  # htmx has bound the live quote as the swap settled
        value.fill("60")
        value.press("Enter")
        tendered = page.locator("#tendered")
        expect(tendered).to_be_focused()
        tendered.fill("50")
        expect(page.locator("#change-error")).to_be_visible()
        tendered.press("Enter")  # short: refused on the review, nothing sold
        expect(page.locator("#tendered-error")).to_be_visible()
        shot(page, "2-short")
        assert not Vend.objects.exists()

        tendered = page.locator("#tendered")
        tendered.fill("100")
        expect(page.locator("#change-amount")).to_contain_text("40.00")
        shot(page, "3-change")
        tendered.press("Enter")
        page.wait_for_selector("#receipt")
        vend = Vend.objects.get()
        assert (
            vend.account == account and vend.amount == Decimal("60.00") and vend.tendered == Decimal("100.00")
        )
        expect(page.locator("#receipt-change")).to_contain_text("40.00")
        shot(page, "4-receipt")

        page.goto(f"{live_server.url}/")
        expect(page.locator("#home-takings")).to_contain_text("60.00")
