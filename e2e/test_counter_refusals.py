"""At the counter a cashier sees every refusal next to the amount, and a large sale asks for the
amount once more with its amount in words (大写金额) before anything is sold."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from prepay.tenancy.models import Site
from prepay.vending.models import Vend

pytestmark = pytest.mark.e2e


def open_card(page, live_server, shop):
    page.goto(f"{live_server.url}/counter/")
    search = page.locator("#counter-search")
    search.fill(shop.meter.serial)
    search.press("Enter")
    page.wait_for_selector("#account-card")
    value = page.locator("#sell-value")
    expect(value).to_be_focused()  # htmx has bound the live quote as the swap settled
    return value


class CounterRefusalTestCase:
    def test_it_shows_each_refusal_next_to_the_amount(self, e2e_db, shop, live_server, page, login, shot):
        login(page, shop.world.cashier)
        value = open_card(page, live_server, shop)
        for typed, words in [
            ("0", "at least one fen"),
            ("-5", "cannot be negative"),
            ("abc", "plain number"),
            ("0.001", "less than one fen"),
        ]:
            value.fill(typed)
            value.press("Enter")  # review: the server answers 400 with the card and its message
            expect(page.locator("#sell-value-errors")).to_contain_text(words)
            value = page.locator("#sell-value")
            shot(page, f"refused-{typed}")
        assert not Vend.objects.exists()

    def test_it_confirms_a_large_sale_in_words(self, e2e_db, shop, live_server, page, login, shot):
        Site.objects.filter(pk=shop.world.a1.site.pk).update(confirm_sale_above=Decimal("1000"))
        login(page, shop.world.cashier)
        value = open_card(page, live_server, shop)
        value.fill("12000")
        value.press("Enter")
        page.wait_for_selector("#large-sale")
        assert "壹万贰仟元整" in page.inner_text("#large-sale")
        confirm = page.locator("#confirm-amount")
        expect(confirm).to_be_focused()  # htmx focuses [autofocus] as the swap settles
        confirm.fill("1200")  # a slip: refused, back on the review with the message
        confirm.press("Enter")
        page.wait_for_selector("#confirm-error")
        shot(page, "large-mismatch")
        assert not Vend.objects.exists()
        page.locator("#confirm-amount").fill("12000")
        page.locator("#confirm-amount").press("Enter")
        page.wait_for_selector("#receipt")
        assert Vend.objects.get().amount == Decimal("12000.00")
        shot(page, "large-sold")
