"""Under the Content-Security-Policy every screen still works: Chromium reports no refused script,
style or request on the pages people use (counter, accounts, reports, dashboard, back office, API docs)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import factories as f

pytestmark = pytest.mark.e2e


def violations(page) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    return seen


class ContentSecurityPolicyTestCase:
    def test_no_screen_breaks_the_policy(self, e2e_db, shop, live_server, page, login, shot):
        seen = violations(page)
        account = f.account(
            shop.world.a1, unit=shop.world.a1.units[1], meter_=shop.sts_meter(drn="01234567890")
        )
        login(page, shop.world.admin)
        for path in [
            "/",
            "/counter/accounts/",
            f"/counter/accounts/{account.pk}/",
            "/reports/",
            "/reports/dashboard/",
            "/admin/",
            "/admin/tariffs/tariff/add/",
            "/api/docs",
        ]:
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
        page.wait_for_selector("#swagger-ui .opblock")  # Swagger UI ran from our own files
        shot(page, "api-docs")
        assert seen == []

    def test_the_counter_works_under_the_policy(self, e2e_db, shop, live_server, page, login):
        seen = violations(page)
        login(page, shop.world.cashier)
        page.goto(f"{live_server.url}/counter/")
        search = page.locator("#counter-search")
        search.fill(shop.meter.serial)
        search.press("Enter")
        expect(page.locator("#sell-value")).to_be_focused()  # htmx has bound the form as the swap settled
        page.locator("#sell-value").fill("20")
        page.locator("#sell-value").press("Enter")
        page.locator("#confirm-vend").press("Enter")
        page.wait_for_selector("#receipt")
        assert seen == []
