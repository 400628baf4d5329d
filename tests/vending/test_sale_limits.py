"""A site's sale limits: the largest single sale, one account's daily maximum, and the counter's second
confirmation of a large amount (``vending.actions.check_sale_limits`` / ``do_vend``)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import translation

from prepay.tenancy.models import Site
from prepay.vending.actions import do_vend, quote_vend
from prepay.vending.models import Vend, VendStatus
from tests.helpers import refused


def limits(shop: Any, sale: str = "500", daily: str = "800", confirm: str = "200") -> None:
    Site.objects.filter(pk=shop.world.a1.site.pk).update(
        max_sale_amount=Decimal(sale), max_daily_amount=Decimal(daily), confirm_sale_above=Decimal(confirm)
    )
    shop.account.site.refresh_from_db()


def sell(shop: Any, key: str, **kw: Any) -> Vend:
    kw.setdefault("amount", "100")
    return do_vend(
        account=shop.account, actor=shop.world.cashier, point=shop.point, idempotency_key=key, **kw
    )


class SaleLimitTestCase:
    def test_it_has_sensible_defaults(self, shop: Any) -> None:
        site = shop.world.a1.site
        assert site.confirm_sale_above < site.max_sale_amount <= site.max_daily_amount
        assert sell(shop, "small").amount == Decimal("100.00")

    def test_it_sells_up_to_the_limit(self, shop: Any) -> None:
        limits(shop)
        assert sell(shop, "k", amount="500.00").amount == Decimal("500.00")

    def test_it_refuses_a_single_sale_above_the_limit(self, shop: Any) -> None:
        limits(shop)
        err = refused(
            "amount_too_large",
            do_vend,
            account=shop.account,
            actor=shop.world.cashier,
            point=shop.point,
            idempotency_key="big",
            amount="500.01",
        )
        assert "500.01" in str(err.message) and "500.00" in str(err.message)
        with pytest.raises(Exception, match="largest sale"):
            quote_vend(account=shop.account, actor=shop.world.cashier, amount="500.01")

    def test_it_refuses_energy_whose_price_is_above_the_limit(self, shop: Any) -> None:
        limits(shop)  # the default tariff: 0.588 a kWh, so 1000 kWh cost 588.00
        refused(
            "amount_too_large",
            do_vend,
            account=shop.account,
            actor=shop.world.cashier,
            point=shop.point,
            idempotency_key="e",
            energy="1000",
        )

    def test_it_counts_the_accounts_sales_of_the_day(self, shop: Any, clock: Any) -> None:
        limits(shop)
        sell(shop, "d1", amount="400")
        sell(shop, "d2", amount="300")
        err = refused(
            "amount_too_large",
            do_vend,
            account=shop.account,
            actor=shop.world.cashier,
            point=shop.point,
            idempotency_key="d3",
            amount="100.01",
        )
        assert "700.00" in str(err.message) and "100.00 more" in str(err.message)
        assert sell(shop, "d4", amount="100").amount == Decimal("100.00")  # exactly the daily 800

    def test_a_reversed_sale_does_not_count_and_a_new_day_starts_again(self, shop: Any, clock: Any) -> None:
        limits(shop)
        first = sell(shop, "r1", amount="500")
        sell(shop, "r2", amount="300")
        Vend.objects.filter(pk=first.pk).update(status=VendStatus.REVERSED)
        assert sell(shop, "r3", amount="500").amount == Decimal("500.00")
        clock.shift(timedelta(days=1))
        assert sell(shop, "r4", amount="500").amount == Decimal("500.00")

    def test_it_says_so_in_chinese(self, shop: Any) -> None:
        limits(shop)
        with translation.override("zh-hans"):
            err = refused(
                "amount_too_large",
                do_vend,
                account=shop.account,
                actor=shop.world.cashier,
                point=shop.point,
                idempotency_key="zh",
                amount="9999",
            )
        assert "单笔售电上限" in str(err.message)


class LargeSaleConfirmationTestCase:
    def test_it_needs_the_amount_typed_again_at_the_counter(self, shop: Any) -> None:
        limits(shop)
        for typed in (None, "", "250", "abc", "2 50"):
            err = refused(
                "confirmation_required",
                do_vend,
                account=shop.account,
                actor=shop.world.cashier,
                point=shop.point,
                idempotency_key=f"c-{typed}",
                amount="250",
                confirm_large=True,
                confirmed_amount=typed if typed != "250" else "205",
            )
            assert "贰佰伍拾元整" in str(err.message)

    def test_it_sells_once_confirmed_even_typed_in_full_width(self, shop: Any) -> None:
        limits(shop)
        vend = sell(shop, "ok", amount="250", confirm_large=True, confirmed_amount="２５０.00")
        assert vend.amount == Decimal("250.00")

    def test_a_small_sale_and_the_api_need_no_second_confirmation(self, shop: Any) -> None:
        limits(shop)
        assert sell(shop, "s", amount="200", confirm_large=True).amount == Decimal("200.00")
        assert sell(shop, "api", amount="250").amount == Decimal("250.00")  # confirm_large off
