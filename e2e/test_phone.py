"""On a phone (390 × 844) nothing scrolls sideways: the counter with an account card, the review,
the receipt with its token (wrapped in groups of four), the account page, the customer page, the
lists and the home page — in English and in Chinese. Measured as the browser lays the page out:
``document.documentElement.scrollWidth`` must not exceed the 390 px of the screen."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from prepay.vending.models import Vend
from tests import factories as f

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def width(page: Any) -> int:
    """How wide the page is laid out (px): more than the screen means it scrolls sideways."""
    return int(page.locator("html").evaluate("el => el.scrollWidth"))


def speak(page: Any, live_server: Any, language: str) -> None:
    """Pages in ``language``, as the language menu would set it (Django's language cookie)."""
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])


def fits(page: Any, shot: Any, name: str) -> None:
    shot(page, name)
    assert width(page) <= PHONE["width"], f"{name}: the page is {width(page)} px wide on a 390 px screen"


@pytest.fixture
def phone(page: Any) -> Any:
    page.set_viewport_size(PHONE)
    return page


class PhoneTestCase:
    @pytest.mark.parametrize("language", ["en", "zh-hans"])
    def test_nothing_scrolls_sideways_at_the_counter(
        self, e2e_db, shop, live_server, phone, login, shot, language
    ) -> None:
        speak(phone, live_server, language)
        f.account(shop.world.a1, unit=shop.world.a1.units[1], customer=shop.account.customer, utility="water")
        login(phone, shop.world.cashier)
        fits(phone, shot, f"{language}-home")
        phone.goto(f"{live_server.url}/counter/")
        search = phone.locator("#counter-search")
        search.fill(shop.account.customer.name)
        expect(phone.locator("#result-list")).to_be_visible()
        fits(phone, shot, f"{language}-results")
        search.fill(shop.meter.serial)
        search.press("Enter")
        value = phone.locator("#sell-value")
        # htmx binds the box's live quote as the swap settles, then focuses it: type only then
        expect(value).to_be_focused()
        value.fill("50")
        expect(phone.locator("#breakdown")).to_be_visible()
        fits(phone, shot, f"{language}-card")
        value.press("Enter")
        tendered = phone.locator("#tendered")
        expect(tendered).to_be_focused()  # htmx has settled the review: the box asks for the change
        tendered.fill("100")
        expect(phone.locator("#change-amount")).to_contain_text("50.00")
        fits(phone, shot, f"{language}-review")
        tendered.press("Enter")
        expect(phone.locator("#receipt")).to_be_visible()
        fits(phone, shot, f"{language}-receipt")
        token = phone.locator("#token-1")
        digits = re.sub(r"\D", "", token.inner_text())
        assert digits == Vend.objects.get().tokens.get().token
        box = token.bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"]
        lines = token.evaluate(
            "el => Math.round(el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight))"
        )
        groups = token.inner_text().split()
        assert all(len(g) == 4 for g in groups) and lines >= 1
        phone.goto(f"{live_server.url}/r/{Vend.objects.get().receipt_no}/print/")
        fits(phone, shot, f"{language}-print-view")
        phone.goto(f"{live_server.url}/counter/customers/{shop.account.customer_id}/")
        fits(phone, shot, f"{language}-customer")

    @pytest.mark.parametrize("language", ["en", "zh-hans"])
    def test_nothing_scrolls_sideways_on_the_clerk_pages(
        self, e2e_db, shop, live_server, phone, login, shot, language
    ) -> None:
        from prepay.vending.actions import do_vend

        speak(phone, live_server, language)
        do_vend(
            account=shop.account,
            actor=shop.world.cashier,
            point=shop.point,
            amount=Decimal("80"),
            idempotency_key="phone-1",
        )
        for n in range(30):
            f.customer(shop.world.a1, name=f"Customer with a rather long name {n}")
        login(phone, shop.world.clerk)
        fits(phone, shot, f"{language}-clerk-home")
        for name, path in [
            ("accounts", "/counter/accounts/"),
            ("customers", "/counter/customers/"),
            ("account", f"/counter/accounts/{shop.account.pk}/"),
            ("open-account", f"/counter/customers/{shop.account.customer_id}/open-account/"),
            ("replace-meter", f"/counter/accounts/{shop.account.pk}/replace-meter/"),
        ]:
            phone.goto(f"{live_server.url}{path}")
            phone.wait_for_load_state("networkidle")
            fits(phone, shot, f"{language}-{name}")
