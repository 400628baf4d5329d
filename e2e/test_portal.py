"""A customer on a 390 px phone signs in to the portal with a code sent by SMS, buys credit through the
simulated provider and sees the token; no page scrolls sideways and the Content-Security-Policy
refuses nothing."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from prepay.notify.models import Channel
from prepay.payments.models import PaymentOrder
from tests.payments.conftest import add_online_point, add_simulated
from tests.portal.conftest import gateway  # noqa: F401 - the SMS gateway fixture

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide"


def _code(sms: Any, count: int = 1) -> str:
    """The code of the ``count``-th message, once the background sender has delivered it."""
    end = time.monotonic() + 15
    while len(sms.received) < count and time.monotonic() < end:
        time.sleep(0.05)
    found = re.search(r"\b(\d{6})\b", sms.received[count - 1]["text"])
    assert found
    return found.group(1)


class PortalBuyTestCase:
    def test_a_customer_buys_credit_on_a_phone_and_sees_the_token(
        self,
        e2e_db,
        shop,
        live_server,
        page,
        shot,
        settings,
        gateway,  # noqa: F811
    ):
        settings.PREPAY_PAYMENTS_SIMULATOR = True
        url, sms = gateway
        w = shop.world.a1
        add_simulated(shop.world, add_online_point(w.site))
        Channel.objects.create(group=w.group, site=w.site, kind="sms", name="SMS", config={"url": url})
        customer = shop.account.customer
        customer.phone = "13812345678"
        customer.save()
        seen: list[str] = []
        page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
        page.set_viewport_size(PHONE)

        page.goto(f"{live_server.url}/portal/signin/")
        page.fill("#id_identifier", shop.meter.serial)
        _no_sideways_scroll(page)
        shot(page, "1-sign-in")
        page.click("#send-code")
        page.wait_for_selector("#code-step")
        page.fill("#id_code", _code(sms))
        page.click("#verify-code")
        page.wait_for_selector("#account")
        _no_sideways_scroll(page)
        shot(page, "2-account")

        page.click("#buy")
        page.click("#preset-50")
        assert page.input_value("#id_amount") == "50"
        _no_sideways_scroll(page)
        page.click("#review")
        page.wait_for_selector("#confirm-pay")
        assert "85.042 kWh" in page.inner_text("#review-energy")
        shot(page, "3-review")
        page.click("#confirm-pay")
        page.wait_for_selector("#pay-now")
        _no_sideways_scroll(page)
        page.click("#pay-now")
        page.wait_for_selector("#simulated-pay")
        shot(page, "4-wallet")
        page.click("#simulated-pay")
        page.wait_for_selector("#order-sold")
        _no_sideways_scroll(page)
        shot(page, "5-token")

        order = PaymentOrder.objects.get()
        token = order.vend.tokens.get().token
        groups = page.locator(".p-token .p-group").all_inner_texts()
        assert groups == [token[i : i + 4] for i in range(0, 20, 4)]
        page.click(f"#receipt-link-{order.vend_id}")
        page.wait_for_selector("#receipt")
        assert order.vend.receipt_no in page.inner_text("#receipt")
        _no_sideways_scroll(page)
        shot(page, "6-receipt")
        assert seen == []

    def test_the_portal_reads_in_chinese(self, e2e_db, shop, live_server, page, settings, gateway):  # noqa: F811
        url, sms = gateway
        w = shop.world.a1
        Channel.objects.create(group=w.group, site=w.site, kind="sms", name="SMS", config={"url": url})
        customer = shop.account.customer
        customer.phone = "13812345678"
        customer.save()
        page.set_viewport_size(PHONE)
        page.goto(f"{live_server.url}/portal/signin/")
        page.click("#lang-zh-hans")
        page.wait_for_selector("#send-code")
        assert "验证码" in page.inner_text("#send-code")
        page.fill("#id_identifier", shop.account.number)
        page.click("#send-code")
        page.wait_for_selector("#code-step")
        page.fill("#id_code", _code(sms))
        page.click("#verify-code")
        page.wait_for_selector("#account")
        assert "购电" in page.inner_text("#buy")
        _no_sideways_scroll(page)
        for link in ("#all-purchases", "#bills-link"):
            page.goto(f"{live_server.url}/portal/a/{shop.account.number}/")
            page.click(link)
            page.wait_for_load_state()
            _no_sideways_scroll(page)
