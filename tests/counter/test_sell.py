"""The vending counter: search → card → quote → review → confirm → receipt, shifts, refusals, scoping."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.test import Client

from prepay.vending.models import Receipt, Shift, ShiftStatus, Vend, VendStatus
from tests import factories as f
from tests.counter.conftest import client_for
from tests.helpers import changes_nothing


def htmx(user: Any, language: str = "en") -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE=language, HTTP_HX_REQUEST="true")
    c.force_login(user)
    return c


def key_of(response: Any) -> str:
    return response.context["form"].initial["idempotency_key"]


class CounterPageTestCase:
    def test_it_offers_to_open_a_shift_first(self, world: Any) -> None:
        from prepay.vending.models import VendingPoint

        point = VendingPoint.objects.create(site=world.a1.site, code="c9", name="Counter 9")
        c = client_for(world.cashier)
        html = c.get("/counter/").content.decode()
        assert 'id="shift-open-form"' in html and 'id="counter-search"' not in html
        r = c.post("/counter/shift/open/", {"point": point.pk, "opening_float": "200"})
        assert r.status_code == 302
        shift = Shift.objects.get(cashier=world.cashier, status=ShiftStatus.OPEN)
        assert shift.opening_float == Decimal("200.00")
        html = c.get("/counter/").content.decode()
        assert 'id="counter-search"' in html and "autofocus" in html and "Counter 9" in html

    def test_it_refuses_another_sites_counter_for_a_shift(self, world: Any) -> None:
        from prepay.vending.models import VendingPoint

        other = VendingPoint.objects.create(site=world.a2.site, code="c2", name="A2 counter")
        with changes_nothing():
            r = client_for(world.cashier).post("/counter/shift/open/", {"point": other.pk})
        assert r.status_code == 400

    def test_it_refuses_roles_that_do_not_sell(self, world: Any) -> None:
        for user in (world.clerk, world.finance, world.auditor):
            assert client_for(user).get("/counter/").status_code == 403
            assert client_for(user).get("/counter/search/", {"q": "x"}).status_code == 403

    def test_it_serves_the_counter_in_chinese(self, shop: Any) -> None:
        page = client_for(shop.world.cashier, "zh-hans").get("/counter/")
        assert page.status_code == 200 and page["Content-Language"] == "zh-hans"


class SearchTestCase:
    def test_it_opens_the_card_when_enter_finds_one_meter(self, shop: Any) -> None:
        r = htmx(shop.world.cashier).get("/counter/search/", {"q": shop.meter.serial, "pick": "1"})
        html = r.content.decode()
        assert r.status_code == 200 and r["HX-Retarget"] == "#counter-work"
        assert 'id="account-card"' in html and shop.account.number in html
        assert 'id="sell-value"' in html and "autofocus" in html
        assert key_of(r).startswith("vend-")

    def test_it_lists_several_matches_to_choose_from(self, shop: Any) -> None:
        f.account(
            shop.world.a1, unit=shop.world.a1.units[1], customer=f.customer(shop.world.a1, name="Wang Wu")
        )
        f.account(
            shop.world.a1, unit=shop.world.a1.units[2], customer=f.customer(shop.world.a1, name="Wang Liu")
        )
        html = htmx(shop.world.cashier).get("/counter/search/", {"q": "Wang", "pick": "1"}).content.decode()
        assert 'id="result-list"' in html and html.count('data-testid="result-') == 2

    def test_it_says_when_nothing_matches_and_hides_other_sites(self, shop: Any) -> None:
        outside = f.account(shop.world.a2, meter_=f.meter(shop.world.a2))
        html = (
            htmx(shop.world.cashier)
            .get("/counter/search/", {"q": outside.number, "pick": "1"})
            .content.decode()
        )
        assert 'id="no-match"' in html and 'id="account-card"' not in html

    def test_it_hides_another_sites_card(self, shop: Any) -> None:
        outside = f.account(shop.world.a2)
        assert htmx(shop.world.cashier).get(f"/counter/card/{outside.pk}/").status_code == 404
        assert client_for(shop.world.cashier).get("/counter/", {"account": outside.pk}).status_code == 404


class QuoteTestCase:
    def test_it_prices_money_and_energy(self, shop: Any) -> None:
        c = htmx(shop.world.cashier)
        base = {"account": shop.account.pk, "idempotency_key": "k", "method": "cash"}
        html = c.get("/counter/quote/", {**base, "mode": "money", "value": "50"}).content.decode()
        assert 'id="breakdown"' in html and "85.042" in html
        html = c.get("/counter/quote/", {**base, "mode": "energy", "value": "10"}).content.decode()
        assert 'id="q-amount">¥5.88<' in html

    def test_it_shows_the_reason_a_quote_is_refused(self, shop: Any) -> None:
        closed = f.account(shop.world.a1, unit=shop.world.a1.units[1], status="closed")
        r = htmx(shop.world.cashier).get(
            "/counter/quote/",
            {"account": closed.pk, "idempotency_key": "k", "method": "cash", "mode": "money", "value": "5"},
        )
        assert 'id="quote-error"' in r.content.decode() and "is closed" in r.content.decode()


class SellTestCase:
    def sale(self, shop: Any, key: str, value: str = "50.00", mode: str = "money") -> dict[str, Any]:
        return {
            "account": shop.account.pk,
            "idempotency_key": key,
            "mode": mode,
            "value": value,
            "method": "cash",
            "reference": "",
        }

    def test_it_sells_in_search_enter_amount_enter_confirm(self, shop: Any) -> None:
        c = htmx(shop.world.cashier)
        card = c.get("/counter/search/", {"q": shop.meter.serial, "pick": "1"})
        data = self.sale(shop, key_of(card))
        review = c.post("/counter/review/", data)
        html = review.content.decode()
        assert review.status_code == 200 and 'id="confirm-vend"' in html and "autofocus" in html
        assert not Vend.objects.exists()
        receipt = c.post("/counter/vend/", data)
        vend = Vend.objects.get()
        html = receipt.content.decode()
        assert receipt.status_code == 200 and receipt["HX-Push-Url"] == f"/counter/vends/{vend.pk}/"
        token = vend.tokens.get()
        assert str(token) in html and vend.receipt_no in html and 'id="print-receipt"' in html
        assert (
            vend.amount == Decimal("50.00")
            and vend.shift == shop.shift
            and vend.created_by == shop.world.cashier
        )

    def test_it_never_sells_twice_on_a_double_submit(self, shop: Any) -> None:
        c = htmx(shop.world.cashier)
        data = self.sale(shop, "vend-double")
        first = c.post("/counter/vend/", data)
        second = c.post("/counter/vend/", data)
        assert first.status_code == second.status_code == 200
        assert Vend.objects.count() == 1 and Receipt.objects.count() == 1

    def test_it_sells_by_energy(self, shop: Any) -> None:
        htmx(shop.world.cashier).post("/counter/vend/", self.sale(shop, "vend-e", "10", "energy"))
        assert Vend.objects.get().energy == Decimal("10.000")

    def test_it_shows_a_refusal_on_the_card_and_sells_nothing(self, shop: Any) -> None:
        c = htmx(shop.world.cashier)
        with changes_nothing():
            r = c.post("/counter/review/", self.sale(shop, "k1", "abc"))
            assert r.status_code == 400 and 'id="account-card"' in r.content.decode()
            r = c.post("/counter/vend/", {**self.sale(shop, "k2"), "method": "transfer"})
            assert r.status_code == 400 and "needs its reference" in r.content.decode()

    def test_it_refuses_to_sell_without_an_open_shift(self, shop: Any) -> None:
        from prepay.vending.actions import do_close_shift

        do_close_shift(shift=shop.shift, actor=shop.world.cashier, declared={})
        with changes_nothing():
            r = htmx(shop.world.cashier).post("/counter/review/", self.sale(shop, "k3"))
        assert r.status_code == 400 and "Open a shift before selling" in r.content.decode()

    def test_it_refuses_the_wrong_role_and_another_sites_account(self, shop: Any) -> None:
        assert htmx(shop.world.clerk).post("/counter/vend/", self.sale(shop, "k4")).status_code == 403
        outside = f.account(shop.world.a2)
        data = {**self.sale(shop, "k5"), "account": outside.pk}
        assert htmx(shop.world.cashier).post("/counter/vend/", data).status_code == 404
        assert not Vend.objects.exists()

    def test_an_account_the_cashier_sees_but_may_not_sell_to_is_refused_403(self, shop: Any) -> None:
        from prepay.tenancy.models import Membership, Role

        # the cashier also works as a clerk at a2: a2's accounts are visible, not for sale
        Membership.objects.create(
            user=shop.world.cashier, group=shop.world.a2.group, site=shop.world.a2.site, role=Role.CLERK
        )
        outside = f.account(shop.world.a2)
        data = {**self.sale(shop, "k6"), "account": outside.pk}
        with changes_nothing():
            assert htmx(shop.world.cashier).post("/counter/vend/", data).status_code == 403
        assert htmx(shop.world.cashier).post("/counter/vend/", self.sale(shop, "k7")).status_code == 200


class ReceiptScreenTestCase:
    def vend(self, shop: Any) -> Vend:
        from prepay.vending.actions import do_vend

        return do_vend(
            account=shop.account,
            actor=shop.world.cashier,
            point=shop.point,
            idempotency_key="r1",
            amount="20",
        )

    def test_it_shows_the_receipt_and_reissues_the_same_token(self, shop: Any) -> None:
        vend = self.vend(shop)
        c = client_for(shop.world.cashier)
        html = c.get(f"/counter/vends/{vend.pk}/").content.decode()
        token = vend.tokens.get()
        assert str(token) in html and 'id="reissue-token"' in html
        receipt = Receipt.objects.get(vend=vend)
        assert f"/r/{receipt.code}/print/?print=1" in html and f"/r/{receipt.code}/escpos/?width=58" in html
        r = c.post(f"/counter/vends/{vend.pk}/reissue/")
        assert r.status_code == 302 and vend.tokens.count() == 1
        assert "The same token was issued again" in c.get(r["Location"]).content.decode()

    def test_it_counts_a_reprint(self, shop: Any) -> None:
        vend = self.vend(shop)
        r = client_for(shop.world.cashier).post(f"/counter/vends/{vend.pk}/reprint/")
        receipt = Receipt.objects.get(vend=vend)
        assert r.status_code == 302 and receipt.prints == 1
        assert r["Location"] == f"/r/{receipt.code}/print/?print=1"

    def test_it_requests_a_reversal(self, shop: Any) -> None:
        vend = self.vend(shop)
        c = client_for(shop.world.cashier)
        page = c.get(f"/counter/vends/{vend.pk}/reversal/")
        key = page.context["form"].initial["idempotency_key"]
        r = c.post(
            f"/counter/vends/{vend.pk}/reversal/",
            {"reason": "wrong meter", "token_entered": "no", "idempotency_key": key},
        )
        assert r.status_code == 302
        vend.refresh_from_db()
        assert vend.status == VendStatus.PENDING_APPROVAL

    def test_it_hides_another_sites_vend_and_refuses_the_wrong_role(self, shop: Any) -> None:
        vend = self.vend(shop)
        assert client_for(shop.world.clerk_a2).get(f"/counter/vends/{vend.pk}/").status_code == 404
        assert client_for(shop.world.clerk_b).post(f"/counter/vends/{vend.pk}/reissue/").status_code == 404
        assert client_for(shop.world.finance).get(f"/counter/vends/{vend.pk}/reversal/").status_code == 403
        assert client_for(shop.world.auditor).post(f"/counter/vends/{vend.pk}/reprint/").status_code == 403
