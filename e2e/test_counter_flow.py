"""A cashier sells at the counter from the keyboard and prints; a clerk replaces a meter."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from prepay.meters.models import Installation
from prepay.vending.models import Receipt, Vend
from tests.vending.test_vend import decoder

pytestmark = pytest.mark.e2e


class CashierSellsTestCase:
    def test_it_finds_a_customer_sells_and_prints(self, e2e_db, shop, live_server, page, login, shot):
        login(page, shop.world.cashier)
        page.goto(f"{live_server.url}/counter/")
        search = page.locator("#counter-search")
        search.fill(shop.meter.serial)
        search.press("Enter")  # one match: the account card opens with the amount box focused
        page.wait_for_selector("#account-card")
        assert shop.account.number in page.inner_text("#account-card")
        value = page.locator("#sell-value")
        expect(value).to_be_focused()  # htmx has bound the live quote as the swap settled
        value.fill("50")
        shot(page, "1-card")
        value.press("Enter")
        confirm = page.locator("#confirm-vend")
        confirm.wait_for()
        assert "50.00" in page.inner_text("#review")
        shot(page, "2-review")
        confirm.press("Enter")
        page.wait_for_selector("#receipt")
        vend = Vend.objects.get()
        assert vend.amount == Decimal("50.00") and vend.created_by == shop.world.cashier
        assert page.inner_text("#receipt-no") == vend.receipt_no
        token = re.sub(r"\D", "", page.inner_text("#token-1"))
        assert len(token) == 20 and token == str(vend.tokens.get().token).replace(" ", "").replace("-", "")
        shot(page, "3-receipt")

        printer = page.locator("#print-receipt").first
        if printer.evaluate("el => el.tagName") == "A":
            with page.context.expect_page() as opened:
                printer.click()
            receipt_page = opened.value
            receipt_page.wait_for_load_state()
            assert vend.receipt_no in receipt_page.content()
            shot(receipt_page, "4-print-view")
        else:
            page.evaluate("window.print = () => { window.__printed = true; }")
            printer.click()
            assert page.evaluate("window.__printed === true")
            shot(page, "4-printed")


class ClerkReplacesMeterTestCase:
    def test_it_replaces_a_token_meter_and_shows_the_new_meters_token(
        self, e2e_db, shop, live_server, page, login, shot
    ):
        old, new, account = shop.meter, shop.sts_meter(), shop.account
        login(page, shop.world.clerk)
        page.goto(f"{live_server.url}/counter/accounts/{account.pk}/")
        shot(page, "1-account")
        page.click("#tool-replace-meter")
        page.wait_for_selector("#replace-meter-form")
        assert "delivered to the new one at once" in page.inner_text("#form-note")
        page.fill("#id_old_closing_reading", "150")
        page.fill("#id_remaining_credit", "5")
        page.fill("#id_new_meter", new.serial)
        picks = page.locator("#id_new_meter-picks button.pick")
        expect(picks).to_have_count(1)  # the list answers the serial typed (not the first, empty one)
        picks.click()  # as a clerk picks it: the box holds the serial, the list closes
        expect(picks).to_have_count(0)
        assert page.input_value("#id_new_meter") == new.serial
        page.fill("#id_new_opening_reading", "0")
        page.fill("#id_reason", "display broken")
        shot(page, "2-form")
        page.click("#action-submit")
        page.wait_for_url(re.compile(r".*/counter/deliveries/\d+/$"))
        shot(page, "3-new-token")
        current = Installation.objects.get(account=account, ended_at=None)
        assert current.meter == new and current.credit_carried_in == Decimal("5.000")
        closed = Installation.objects.get(account=account, meter=old)
        assert closed.closing_reading == Decimal("150.000")
        token = current.credit_delivery.tokens.get()
        shown = re.sub(r"\D", "", page.inner_text("#token-1"))
        assert shown == token.token and token.meter == new
        assert page.get_attribute("#delivery", "data-state") == "delivered"
        receipt = Receipt.objects.get(delivery=current.credit_delivery)
        assert page.inner_text("#delivery-receipt-no") == receipt.code
        meter = decoder()  # the new meter loads the carried credit from the token shown
        assert meter.enter(shown).accepted and meter.credit(0) == Decimal("5.0")
