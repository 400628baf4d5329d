"""A sale in flight keeps the tariff version it was quoted with: the counter's review carries the
version, and the sale confirmed after midnight (a new version in force) is priced by it."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from prepay.tariffs.actions import do_new_tariff_version
from prepay.tariffs.models import Tariff
from prepay.vending.actions import do_vend, quote_vend
from prepay.vending.models import Vend
from tests.helpers import changes_nothing, refused
from tests.tariffs.test_versions import draft

SHANGHAI = ZoneInfo("Asia/Shanghai")
BEFORE_MIDNIGHT = datetime(2026, 6, 30, 23, 59, 30, tzinfo=SHANGHAI)
AFTER_MIDNIGHT = datetime(2026, 7, 1, 0, 0, 20, tzinfo=SHANGHAI)


@pytest.fixture
def july(clock: Any, world: Any) -> Tariff:
    """A new version of the flat tariff (0.6000) from 1 July, the clock a moment before midnight."""
    clock.move_to(BEFORE_MIDNIGHT)
    row = world.a1.tariff
    return do_new_tariff_version(
        base=row,
        draft=draft(row, unit_price=Decimal("0.6000"), effective_from=date(2026, 7, 1)),
        actor=world.admin,
    )


def cashier(shop: Any) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_HX_REQUEST="true")
    c.force_login(shop.world.cashier)
    return c


def sale(shop: Any, key: str) -> dict[str, Any]:
    return {
        "account": shop.account.pk,
        "idempotency_key": key,
        "mode": "money",
        "value": "50.00",
        "method": "cash",
    }


def quoted_version(review: Any) -> str:
    found = re.search(r'name="tariff_version" value="(\d*)"', review.content.decode())
    assert found, "the review form carries the quoted tariff version"
    return found.group(1)


class QuotedVersionTestCase:
    def test_it_sells_after_midnight_at_the_version_the_review_showed(self, july, shop, clock):
        c = cashier(shop)
        review = c.post("/counter/review/", sale(shop, "k1"))
        assert quoted_version(review) == str(shop.world.a1.tariff.pk)
        clock.move_to(AFTER_MIDNIGHT)  # the July version is in force now
        receipt = c.post("/counter/vend/", {**sale(shop, "k1"), "tariff_version": quoted_version(review)})
        assert receipt.status_code == 200
        vend = Vend.objects.get()
        assert vend.tariff == shop.world.a1.tariff and vend.energy == Decimal("85.042")  # 50 at 0.588

    def test_it_prices_by_date_without_a_quoted_version(self, july, shop, clock):
        clock.move_to(AFTER_MIDNIGHT)
        vend = do_vend(
            account=shop.account,
            actor=shop.world.cashier,
            point=shop.point,
            amount="50",
            idempotency_key="api-1",
        )
        assert vend.tariff == july and vend.energy == Decimal("83.341")

    def test_it_reports_the_version_it_quoted(self, july, shop, clock):
        assert (
            quote_vend(account=shop.account, actor=shop.world.cashier, amount="50").tariff_version
            == shop.world.a1.tariff.pk
        )
        clock.move_to(AFTER_MIDNIGHT)
        assert (
            quote_vend(account=shop.account, actor=shop.world.cashier, amount="50").tariff_version == july.pk
        )

    def test_it_refuses_a_quote_older_than_the_grace_and_sells_nothing(self, july, shop, clock):
        c = cashier(shop)
        review = c.post("/counter/review/", sale(shop, "k2"))
        clock.move_to(datetime(2026, 7, 1, 0, 15, tzinfo=SHANGHAI))
        with changes_nothing():
            r = c.post("/counter/vend/", {**sale(shop, "k2"), "tariff_version": quoted_version(review)})
        assert r.status_code == 400 and "The tariff changed since this sale was priced" in r.content.decode()

    def test_it_refuses_a_version_of_another_tariff_or_one_long_replaced(self, shop, clock, world):
        row = world.a1.tariff
        do_new_tariff_version(base=row, draft=draft(row, effective_from=date(2026, 6, 1)), actor=world.admin)
        for version in (row.pk, world.a1.water_tariff.pk, world.b1.tariff.pk, "x"):
            refused(
                "tariff_version_changed",
                do_vend,
                account=shop.account,
                actor=world.cashier,
                point=shop.point,
                amount="50",
                idempotency_key=f"t-{version}",
                tariff_version=version,
            )
