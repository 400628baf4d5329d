"""The counter shows every refusal of the amount next to the field (htmx swaps 400 answers), asks
for a large sale to be typed again with its amount in words, and reads full-width digits."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from prepay.tenancy.models import Site
from prepay.vending.models import Vend
from tests.counter.test_sell import htmx
from tests.helpers import changes_nothing


def sale(shop: Any, value: str, mode: str = "money", key: str = "k") -> dict[str, Any]:
    return {
        "account": shop.account.pk,
        "idempotency_key": key,
        "mode": mode,
        "value": value,
        "method": "cash",
        "reference": "",
    }


REFUSALS = [
    ("0", "money", "must be at least one fen (0.01)"),
    ("-5", "money", "cannot be negative"),
    ("abc", "money", "must be a plain number"),
    ("0.001", "money", "less than one fen"),
    ("12.345", "money", "at most 2 decimal places"),
    ("1E+2", "money", "must be a plain number"),
    ("1_000", "money", "must be a plain number"),
    ("1,000", "money", "must be a plain number"),
    ("NaN", "money", "must be a plain number"),
    ("99999999999999", "money", "too large"),
    ("0.0001", "energy", "less than the smallest step, 0.001"),
]


class AmountRefusalTestCase:
    @pytest.mark.parametrize(("value", "mode", "message"), REFUSALS)
    def test_it_shows_the_refusal_next_to_the_amount(self, shop: Any, value: str, mode: str, message: str):
        c = htmx(shop.world.cashier)
        with changes_nothing():
            review = c.post("/counter/review/", sale(shop, value, mode))
            confirm = c.post("/counter/vend/", sale(shop, value, mode))
            quote = c.get("/counter/quote/", sale(shop, value, mode))
        for r in (review, confirm):
            html = r.content.decode()
            assert r.status_code == 400 and 'id="sell-value-errors"' in html and message in html
            assert 'aria-invalid="true"' in html
        assert 'id="quote-error"' in quote.content.decode() and message in quote.content.decode()

    def test_it_shows_a_limit_next_to_the_amount(self, shop: Any) -> None:
        Site.objects.filter(pk=shop.world.a1.site.pk).update(max_sale_amount=Decimal("100"))
        with changes_nothing():
            r = htmx(shop.world.cashier).post("/counter/review/", sale(shop, "100.01"))
        html = r.content.decode()
        assert r.status_code == 400 and 'id="sell-value-errors"' in html and "largest sale" in html

    def test_it_shows_refusals_in_chinese(self, shop: Any) -> None:
        r = htmx(shop.world.cashier, "zh-hans").post("/counter/review/", sale(shop, "0.001"))
        assert r.status_code == 400 and "不足一分钱" in r.content.decode()

    def test_it_reads_full_width_digits(self, shop: Any) -> None:
        c = htmx(shop.world.cashier)
        review = c.post("/counter/review/", sale(shop, "５０．００"))
        assert review.status_code == 200 and 'id="confirm-vend"' in review.content.decode()
        c.post("/counter/vend/", sale(shop, "５０"))
        assert Vend.objects.get().amount == Decimal("50.00")

    def test_the_search_reads_full_width_digits(self, shop: Any) -> None:
        full = shop.meter.serial.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        r = htmx(shop.world.cashier).get("/counter/search/", {"q": full, "pick": "1"})
        assert 'id="account-card"' in r.content.decode()


class LargeSaleTestCase:
    @pytest.fixture(autouse=True)
    def _threshold(self, shop: Any) -> None:
        Site.objects.filter(pk=shop.world.a1.site.pk).update(confirm_sale_above=Decimal("1000"))

    def test_it_asks_for_the_amount_again_in_words(self, shop: Any) -> None:
        c = htmx(shop.world.cashier)
        html = c.post("/counter/review/", sale(shop, "12000")).content.decode()
        assert 'id="large-sale"' in html and "壹万贰仟元整" in html and "twelve thousand yuan" in html
        assert 'id="confirm-amount"' in html
        small = c.post("/counter/review/", sale(shop, "1000")).content.decode()
        assert 'id="large-sale"' not in small

    @pytest.mark.parametrize("typed", ["", "1200", "abc"])
    def test_it_refuses_the_sale_until_the_amount_is_typed_again(self, shop: Any, typed: str) -> None:
        with changes_nothing():
            r = htmx(shop.world.cashier).post(
                "/counter/vend/", {**sale(shop, "12000"), "confirm_amount": typed}
            )
        html = r.content.decode()
        assert r.status_code == 400 and 'id="confirm-error"' in html and "type the amount again" in html
        assert 'id="large-sale"' in html  # back on the review, not the card

    def test_it_sells_once_confirmed(self, shop: Any) -> None:
        r = htmx(shop.world.cashier).post(
            "/counter/vend/", {**sale(shop, "12000"), "confirm_amount": "１２０００"}
        )
        assert r.status_code == 200 and Vend.objects.get().amount == Decimal("12000.00")


FULL = str.maketrans(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.",
    "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ．",
)


class FullWidthCodesTestCase:
    """Serials and readings typed with a Chinese IME on the clerk screens are read as ASCII."""

    def test_it_assigns_a_meter_typed_in_full_width(self, world: Any) -> None:
        from prepay.meters.models import Installation
        from tests import factories as f
        from tests.counter.conftest import client_for

        acc = f.account(world.a1)
        meter = world.a1.meters[0]
        r = client_for(world.clerk).post(
            f"/counter/accounts/{acc.pk}/assign-meter/",
            {"meter": f" {meter.serial.translate(FULL)} ", "opening_reading": "１２．５"},
        )
        assert r.status_code == 302
        inst = Installation.objects.get(account=acc)
        assert inst.meter == meter and inst.opening_reading == Decimal("12.5")

    def test_it_registers_a_serial_typed_in_full_width_as_ascii(self, world: Any) -> None:
        from prepay.meters.actions import do_register_meter

        meter = do_register_meter(
            site=world.a1.site, serial="ＦＷ００１", model=world.a1.single, actor=world.clerk
        )
        assert meter.serial == "FW001"
