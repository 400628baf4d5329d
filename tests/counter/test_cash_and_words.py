"""The counter's cash tender (收款 / 找零), a token meter's card, and water accounts' words.

A cash sale takes what the customer handed over and shows the change; too little, a non-cash sale
or a tender that is no plain amount is refused and sells nothing. A token meter's card says the
credit is in the meter and shows the last token. A water account speaks of water (售水, 水量, 水表,
阀门) on its card, review, receipt, refusals and relay (valve), in English and in Chinese.
"""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape
from typing import Any

import pytest
from django.utils import timezone

from prepay.meters.models import Meter, MeterModel
from prepay.telemetry.models import MeterLink
from prepay.vending import ledger
from prepay.vending.actions import active_meter as vending_meter
from prepay.vending.actions import do_vend
from prepay.vending.models import Receipt, Vend
from tests import factories as f
from tests.counter.conftest import client_for
from tests.counter.test_sell import htmx
from tests.helpers import changes_nothing


def sale(account: Any, key: str, value: str = "50.00", method: str = "cash", **extra: str) -> dict[str, Any]:
    return {
        "account": account.pk,
        "idempotency_key": key,
        "mode": "money",
        "value": value,
        "method": method,
        "reference": "",
        **extra,
    }


def text(response: Any) -> str:
    """The response's visible text: tags dropped, whitespace folded (attributes are not words)."""
    html = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", unescape(html))


# ---------------------------------------------------------------------------------------------------
# cash tendered and change


class CashTenderedTestCase:
    def test_a_cash_sale_records_the_tender_and_the_receipt_shows_the_change(self, shop: Any) -> None:
        c = htmx(shop.world.cashier)
        data = sale(shop.account, "vend-t1", "50.00")
        review = c.post("/counter/review/", data)
        html = review.content.decode()
        assert review.status_code == 200 and 'id="tendered"' in html and 'name="tendered"' in html
        assert "Cash tendered" in html and not Vend.objects.exists()
        r = c.post("/counter/vend/", {**data, "tendered": "100"})
        assert r.status_code == 200, r.content.decode()
        vend = Vend.objects.get()
        assert vend.tendered == Decimal("100.00") and vend.change == Decimal("50.00")
        html = r.content.decode()
        assert re.search(r'id="receipt-tendered"[^>]*>¥100\.00<', html)
        assert re.search(r'id="receipt-change"[^>]*>¥50\.00<', html)
        # the receipt screen opened later shows the same, and so does the printed receipt
        again = client_for(shop.world.cashier).get(f"/counter/vends/{vend.pk}/").content.decode()
        assert re.search(r'id="receipt-change"[^>]*>¥50\.00<', again)
        receipt = Receipt.objects.get(vend=vend)
        printed = client_for(shop.world.cashier).get(f"/r/{receipt.code}/print/")
        assert printed.status_code == 200
        body = text(printed)
        assert "Cash tendered" in body and "¥100.00" in body and "Change due" in body and "¥50.00" in body

    def test_the_exact_amount_needs_no_tender(self, shop: Any) -> None:
        r = htmx(shop.world.cashier).post("/counter/vend/", sale(shop.account, "vend-t2", tendered=""))
        assert r.status_code == 200
        vend = Vend.objects.get()
        assert vend.tendered is None and vend.change is None
        html = r.content.decode()
        assert 'id="receipt-change"' not in html and 'id="receipt-tendered"' not in html

    def test_a_tender_equal_to_the_amount_gives_no_change(self, shop: Any) -> None:
        r = htmx(shop.world.cashier).post("/counter/vend/", sale(shop.account, "vend-t3", tendered="50"))
        assert r.status_code == 200
        assert Vend.objects.get().change == Decimal("0.00")
        assert re.search(r'id="receipt-change"[^>]*>¥0\.00<', r.content.decode())

    def test_too_little_cash_goes_back_to_the_review_and_sells_nothing(self, shop: Any) -> None:
        balance = ledger.balance_of(shop.account)
        with changes_nothing():
            r = htmx(shop.world.cashier).post(
                "/counter/vend/", sale(shop.account, "vend-t4", "50.00", tendered="20")
            )
        html = r.content.decode()
        assert r.status_code == 400 and 'id="review"' in html and 'id="receipt"' not in html
        assert 'data-testid="tendered-error"' in html
        error = re.search(r'id="tendered-error"[^>]*>([^<]*)<', html)
        assert error and "¥20.00" in error.group(1) and "¥30.00 more" in error.group(1)
        assert 'value="20"' in html  # the box keeps what was typed
        assert not Vend.objects.exists() and ledger.balance_of(shop.account) == balance

    @pytest.mark.parametrize("bad", ["abc", "1e3", "-5", "0", "12.345", "NaN"])
    def test_a_tender_that_is_no_plain_amount_is_refused(self, shop: Any, bad: str) -> None:
        with changes_nothing():
            r = htmx(shop.world.cashier).post("/counter/vend/", sale(shop.account, "vend-t5", tendered=bad))
        html = r.content.decode()
        assert 400 <= r.status_code < 500 and 'id="tendered-error"' in html
        assert "money tendered" in html
        assert not Vend.objects.exists()

    def test_a_non_cash_sale_takes_no_tender(self, shop: Any) -> None:
        c = htmx(shop.world.cashier)
        data = sale(shop.account, "vend-t6", method="card", tendered="100")
        review = c.post("/counter/review/", data)
        assert review.status_code == 200 and 'id="tendered"' not in review.content.decode()
        # a stray tender posted with a bank-card sale is ignored: the card pays the exact amount
        r = c.post("/counter/vend/", data)
        assert r.status_code == 200
        vend = Vend.objects.get()
        assert vend.method == "card" and vend.tendered is None
        assert 'id="receipt-change"' not in r.content.decode()

    def test_the_action_refuses_a_tender_for_a_non_cash_sale(self, shop: Any) -> None:
        from tests.helpers import refused

        refused(
            "tendered_not_cash",
            do_vend,
            account=shop.account,
            actor=shop.world.cashier,
            point=shop.point,
            idempotency_key="a1",
            amount="50",
            method="card",
            tendered="100",
        )
        refused(
            "tendered_short",
            do_vend,
            account=shop.account,
            actor=shop.world.cashier,
            point=shop.point,
            idempotency_key="a2",
            amount="50",
            tendered="49.99",
        )


class LargeCashSaleTestCase:
    @pytest.fixture(autouse=True)
    def _threshold(self, shop: Any) -> None:
        from prepay.tenancy.models import Site

        Site.objects.filter(pk=shop.world.a1.site.pk).update(confirm_sale_above=Decimal("1000"))

    def test_a_large_sale_asks_for_the_amount_again_and_the_cash(self, shop: Any) -> None:
        c = htmx(shop.world.cashier)
        data = sale(shop.account, "vend-l1", "1200")
        html = c.post("/counter/review/", data).content.decode()
        assert 'id="large-sale"' in html and 'id="tendered"' in html
        # the change box asks the change view with the amount of the review
        vals = re.search(r"hx-vals='([^']*)'", html)
        assert vals and '"amount": "1200.00"' in vals.group(1)
        change = c.get("/counter/change/", {"amount": "1200.00", "tendered": "1300"}).content.decode()
        assert "¥100.00" in change
        # confirmed, but too little cash: back to the review, with the amount typed kept out of it
        with changes_nothing():
            r = c.post("/counter/vend/", {**data, "confirm_amount": "1200", "tendered": "1000"})
        html = r.content.decode()
        assert r.status_code == 400 and 'id="large-sale"' in html and 'id="tendered-error"' in html
        assert "take ¥200.00 more" in html and 'id="confirm-error"' not in html
        # the amount not typed again: the confirmation is asked for, the cash typed is kept
        with changes_nothing():
            r = c.post("/counter/vend/", {**data, "confirm_amount": "", "tendered": "1300"})
        html = r.content.decode()
        assert r.status_code == 400 and 'id="confirm-error"' in html and 'value="1300"' in html
        # full-width digits from a Chinese IME are cash too
        r = c.post("/counter/vend/", {**data, "confirm_amount": "1200", "tendered": "１３００"})
        assert r.status_code == 200
        vend = Vend.objects.get()
        assert vend.tendered == Decimal("1300.00") and vend.change == Decimal("100.00")


class ChangeFragmentTestCase:
    def get(self, user: Any, **params: str) -> Any:
        return htmx(user).get("/counter/change/", params)

    def test_it_computes_the_change(self, shop: Any) -> None:
        r = self.get(shop.world.cashier, amount="37.50", tendered="100")
        assert r.status_code == 200
        assert re.search(
            r'id="change-amount"[^>]*>Change due <strong class="num">¥62\.50<', r.content.decode()
        )

    def test_it_shows_nothing_for_an_empty_tender(self, shop: Any) -> None:
        r = self.get(shop.world.cashier, amount="37.50", tendered="")
        assert r.status_code == 200 and r.content.decode().strip() == ""

    @pytest.mark.parametrize(
        ("tendered", "words"),
        [("20", "take ¥17.50 more"), ("abc", "plain number"), ("1e3", "plain number"), ("-5", "negative")],
    )
    def test_it_shows_what_is_wrong(self, shop: Any, tendered: str, words: str) -> None:
        html = self.get(shop.world.cashier, amount="37.50", tendered=tendered).content.decode()
        assert 'id="change-error"' in html and words in html and 'id="change-amount"' not in html

    def test_it_speaks_chinese(self, shop: Any) -> None:
        c = htmx(shop.world.cashier, "zh-hans")
        html = c.get("/counter/change/", {"amount": "37.50", "tendered": "100"}).content.decode()
        assert "找零" in html and "¥62.50" in html

    def test_it_is_for_cashiers_only(self, shop: Any) -> None:
        for user in (shop.world.clerk, shop.world.finance, shop.world.auditor):
            assert self.get(user, amount="10", tendered="20").status_code == 403


# ---------------------------------------------------------------------------------------------------
# a token meter's card


class TokenMeterCardTestCase:
    def test_it_says_the_credit_is_in_the_meter_and_shows_the_last_token(self, shop: Any) -> None:
        c = htmx(shop.world.cashier)
        html = c.get(f"/counter/card/{shop.account.pk}/").content.decode()
        assert 'id="card-token-meter"' in html and "holds the credit bought" in html
        assert 'id="card-no-token"' in html
        first = do_vend(
            account=shop.account,
            actor=shop.world.cashier,
            point=shop.point,
            idempotency_key="c1",
            amount="20",
        )
        last = do_vend(
            account=shop.account,
            actor=shop.world.cashier,
            point=shop.point,
            idempotency_key="c2",
            amount="30",
        )
        html = c.get(f"/counter/card/{shop.account.pk}/").content.decode()
        token = last.tokens.get()
        shown = re.search(r'data-testid="card-last-token-1">([^<]*)<', html)
        assert shown and shown.group(1).replace(" ", "").replace("-", "") == token.token
        line = re.search(r'id="card-last-token">(.*?)</p>', html, re.S)
        assert line and last.receipt_no in line.group(1) and "¥30.00" in line.group(1)
        assert first.tokens.get().token not in html.replace(" ", "").replace("-", "")
        assert 'id="card-no-token"' not in html

    def test_a_meter_without_a_keypad_has_no_token_note(self, shop: Any) -> None:
        card_model = MeterModel.objects.create(
            group=shop.world.a1.group,
            code="ic",
            name="IC card",
            kind="single_phase",
            has_ic_card=True,
            token_system="none",
            has_keypad=False,
        )
        account = f.account(
            shop.world.a1, unit=shop.world.a1.units[1], meter_=f.meter(shop.world.a1, card_model)
        )
        html = htmx(shop.world.cashier).get(f"/counter/card/{account.pk}/").content.decode()
        assert 'id="account-card"' in html and 'id="card-token-meter"' not in html


# ---------------------------------------------------------------------------------------------------
# water accounts speak of water

POWER_WORDS_EN = ("kWh", "energy", "Energy", "electricity", "Electricity", "relay", "Relay")
POWER_WORDS_ZH = ("kWh", "电量", "电能", "电表", "售电", "购电", "用电", "继电器", "电费")
#: names of back-office screens, not of what is sold: the vending points' admin is 售电点 for both
BACK_OFFICE = ("（后台：售电点）",)


def water_shop(shop: Any) -> Any:
    """A water account on an STS keypad water meter (token delivery) with a networked valve."""
    model = MeterModel.objects.create(
        group=shop.world.a1.group,
        code="wsts",
        name="Water STS",
        kind="water",
        token_system="sts",
        has_keypad=True,
        has_relay=True,
    )
    meter = f.meter(shop.world.a1, model, drn="00000000018", supply_group_code="123456", tariff_index="01")
    account = f.account(shop.world.a1, unit=shop.world.a1.units[1], meter_=meter, utility="water")
    MeterLink.objects.create(meter=meter, next_poll_at=timezone.now(), relay_state="open", online=True)
    return account


def no_power(body: str, language: str) -> None:
    for name in BACK_OFFICE:
        body = body.replace(name, "")
    for word in POWER_WORDS_EN if language == "en" else POWER_WORDS_ZH:
        assert word not in body, (
            f"{word!r} on a water screen: …{body[max(0, body.find(word) - 80) : body.find(word) + 80]}…"
        )


@pytest.mark.parametrize("language", ["en", "zh-hans"])
class WaterWordsTestCase:
    def test_the_card_speaks_of_water(self, shop: Any, language: str) -> None:
        account = water_shop(shop)
        do_vend(account=account, actor=shop.world.cashier, point=shop.point, idempotency_key="w0", amount="7")
        r = htmx(shop.world.cashier, language).get(f"/counter/card/{account.pk}/")
        body = text(r)
        assert r.status_code == 200
        no_power(body, language)
        assert re.search(r"¥7\.00 2\.\d{3} m³", body)
        if language == "en":
            assert "Water meter" in body and "Valve" in body and "Valve closed (water cut)" in body
            assert "holds the water bought" in body and "Water volume" in body
        else:
            assert "水表" in body and "阀门" in body and "水量" in body

    def test_the_review_and_receipt_speak_of_water(self, shop: Any, language: str) -> None:
        account = water_shop(shop)
        c = htmx(shop.world.cashier, language)
        data = sale(account, "w1", "35.00")
        review = c.post("/counter/review/", data)
        body = text(review)
        assert review.status_code == 200, body
        no_power(body, language)
        assert re.search(r"10\.\d{3} m³ × ¥3\.5/m³ = ¥35\.00", body)
        if language == "en":
            assert "Confirm the water sale" in body and "Confirm and sell water" in body
        else:
            assert "售水" in body
        r = c.post("/counter/vend/", {**data, "tendered": "50"})
        body = text(r)
        assert r.status_code == 200, body
        no_power(body, language)
        assert re.search(r"10\.\d{3} m³", body) and "¥15.00" in body
        if language == "en":
            assert "Water sold" in body and "Water volume" in body and "Change due" in body
        else:
            assert "水量" in body and "找零" in body and "收款" in body
        # the printed receipt too
        receipt = Receipt.objects.get(vend=Vend.objects.get())
        body = text(client_for(shop.world.cashier, language).get(f"/r/{receipt.code}/print/"))
        no_power(body, language)
        assert re.search(r"10\.\d{3} m³", body)
        if language == "en":
            assert "Water purchased" in body and "water meter's keypad" in body
        else:
            assert "水" in body

    def test_the_refusals_speak_of_water(self, shop: Any, language: str) -> None:
        account = water_shop(shop)
        c = htmx(shop.world.cashier, language)
        Meter.objects.filter(pk=vending_meter(account).pk).update(status="faulty")
        with changes_nothing():
            r = c.post("/counter/vend/", sale(account, "w3", "10"))
        body = text(r)
        assert r.status_code == 400 and 'id="account-card"' in r.content.decode()
        no_power(body, language)
        if language == "en":
            assert "Water meter M" in body and "replace it before selling" in body
        else:
            assert "水表" in body

    def test_a_bad_water_volume_is_called_water(self, shop: Any, language: str) -> None:
        account = water_shop(shop)
        with changes_nothing():
            r = htmx(shop.world.cashier, language).post(
                "/counter/review/", {**sale(account, "w2", "abc"), "mode": "energy"}
            )
        body = text(r)
        assert r.status_code == 400 and 'id="sell-value-errors"' in r.content.decode()
        no_power(body, language)
        assert ("The water volume must be a plain number" if language == "en" else "水量") in body

    def test_the_account_page_and_valve_command_speak_of_the_valve(self, shop: Any, language: str) -> None:
        account = water_shop(shop)
        page = client_for(shop.world.clerk, language).get(f"/counter/accounts/{account.pk}/")
        assert page.status_code == 200
        body = text(page)
        if language == "en":
            assert (
                "Valve" in body
                and "Valve closed (water cut)" in body
                and "Remote valve close or open" in body
            )
            assert "Relay" not in body and "Trip" not in body
        else:
            assert "阀门" in body and "继电器" not in body
        form = client_for(shop.world.clerk, language).get(f"/counter/accounts/{account.pk}/relay/")
        if form.status_code == 200:
            body = text(form)
            if language == "en":
                assert "Close the valve (cut water)" in body and "Trip" not in body
            else:
                assert "关阀（停水）" in body and "跳闸" not in body
