"""The cash-up screens and receipts say "void" (paid back at the counter, while the shift is open) and
"refund by finance" (after it closed), in English and in Chinese."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from prepay.vending.actions import do_approve_reversal, do_close_shift, do_request_reversal, do_vend
from prepay.vending.models import Receipt
from prepay.vending.receipts import receipt_context
from tests.counter.conftest import client_for


def sell(shop: Any, key: str, amount: str, method: str = "cash") -> Any:
    return do_vend(
        account=shop.account,
        actor=shop.world.cashier,
        point=shop.point,
        idempotency_key=key,
        amount=amount,
        method=method,
        reference="R1" if method == "online" else "",
    )


def reverse(shop: Any, vend: Any) -> Any:
    r = do_request_reversal(vend=vend, actor=shop.world.cashier, reason="typo", token_entered=False)
    return do_approve_reversal(reversal=r, actor=shop.world.finance)


class ShiftCloseVoidsTestCase:
    def test_it_shows_sales_voids_and_what_is_expected(self, shop: Any) -> None:
        sell(shop, "a", "20")
        reverse(shop, sell(shop, "b", "500"))
        html = client_for(shop.world.cashier).get("/counter/shift/close/").content.decode()
        assert 'id="sales-cash">520.00<' in html and 'id="voids-cash">−500.00<' in html
        assert 'id="expected-cash">20.00<' in html and "1 void paid back at the counter." in html

    def test_it_speaks_chinese(self, shop: Any) -> None:
        reverse(shop, sell(shop, "b", "500"))
        html = client_for(shop.world.cashier, "zh-hans").get("/counter/shift/close/").content.decode()
        assert "作废" in html and "Voids (paid back)" not in html and "Expected = sales" not in html

    def test_it_closes_with_no_difference_after_a_void(self, shop: Any) -> None:
        sell(shop, "a", "20")
        reverse(shop, sell(shop, "b", "500"))
        r = client_for(shop.world.cashier).post(
            "/counter/shift/close/",
            {
                "declared_cash": "20.00",
                "declared_card": "0",
                "declared_transfer": "0",
                "declared_online": "0",
            },
        )
        assert r.status_code == 302
        shop.shift.refresh_from_db()
        assert shop.shift.difference["cash"] == "0.00"


class ShiftDetailRefundsTestCase:
    def test_it_mentions_refunds_by_finance_after_the_close_without_changing_the_cash_up(
        self, shop: Any
    ) -> None:
        vend = sell(shop, "a", "20")
        do_close_shift(shift=shop.shift, actor=shop.world.cashier, declared={"cash": "20.00"})
        reverse(shop, vend)
        for user in (shop.world.cashier, shop.world.finance):
            html = client_for(user).get(f"/counter/shifts/{shop.shift.pk}/").content.decode()
            assert 'id="expected-cash">20.00<' in html and 'id="difference-cash">0.00<' in html
            assert (
                "1 sale of this shift was reversed after the shift closed: ¥20.00 refunded by finance" in html
            )
        zh = (
            client_for(shop.world.finance, "zh-hans")
            .get(f"/counter/shifts/{shop.shift.pk}/")
            .content.decode()
        )
        assert "财务" in zh and "refunded by finance" not in zh

    def test_it_hides_the_cash_up_from_clerks_and_outsiders(self, shop: Any) -> None:
        reverse(shop, sell(shop, "a", "20"))
        url = f"/counter/shifts/{shop.shift.pk}/"
        assert client_for(shop.world.clerk).get(url).status_code == 404
        assert client_for(shop.world.clerk_b).get(url).status_code == 404


class VoidReceiptTestCase:
    def test_it_titles_a_void_and_a_refund_by_finance(self, shop: Any) -> None:
        void = reverse(shop, sell(shop, "a", "20"))
        late = sell(shop, "b", "30")
        do_close_shift(shift=shop.shift, actor=shop.world.cashier, declared={"cash": "50.00"})
        refund = reverse(shop, late)
        ctx = receipt_context(Receipt.objects.get(reversal=void))
        assert ctx["title"] == "Void receipt"
        assert dict(ctx["rows"])["Money back"] == "Void: paid back at the counter"
        ctx = receipt_context(Receipt.objects.get(reversal=refund))
        assert ctx["title"] == "Reversal receipt: refunded by finance"
        assert dict(ctx["rows"])["Money back"] == "Refund paid by finance"
        assert ctx["amount"] == "¥30.00" and Decimal(refund.amount) == Decimal("30.00")

    def test_it_speaks_chinese(self, shop: Any) -> None:
        from django.utils import translation

        void = reverse(shop, sell(shop, "a", "20"))
        with translation.override("zh-hans"):
            ctx = receipt_context(Receipt.objects.get(reversal=void))
        assert "作废" in ctx["title"] and "作废" in dict(ctx["rows"])["退回方式"]
