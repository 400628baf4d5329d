"""Purchases with their tokens (in groups of four, with a copy button) and each purchase's receipt;
another customer's receipt is 404."""

from __future__ import annotations

import re

from prepay.vending.actions import do_vend
from tests import factories as f


def _sell(shop, account=None, key="k1", amount="50.00"):
    return do_vend(
        account=account or shop.account,
        actor=shop.world.cashier,
        point=shop.point,
        amount=amount,
        idempotency_key=key,
    )


class PurchasesViewTestCase:
    def test_it_lists_purchases_with_tokens_in_groups_of_four(self, portal):
        vend = _sell(portal.pay.shop)
        token = vend.tokens.get().token
        client = portal.sign_in()
        page = client.get(f"/portal/a/{portal.account.number}/purchases/").content.decode()
        groups = re.findall(r'<span class="p-group">(\d+)</span>', page)
        assert "".join(groups) == token and all(len(g) == 4 for g in groups)
        assert f'data-copy="{token}"' in page and vend.receipt_no in page

    def test_it_pages_older_purchases(self, portal):
        for i in range(21):
            _sell(portal.pay.shop, key=f"k{i}", amount="10.00")
        client = portal.sign_in()
        first = client.get(f"/portal/a/{portal.account.number}/purchases/").content.decode()
        assert first.count('class="p-purchase"') == 20 and 'id="older"' in first
        second = client.get(f"/portal/a/{portal.account.number}/purchases/?page=2").content.decode()
        assert second.count('class="p-purchase"') == 1
        assert client.get(f"/portal/a/{portal.account.number}/purchases/?page=x").status_code == 200

    def test_it_shows_a_receipt_of_the_customers_own(self, portal):
        vend = _sell(portal.pay.shop)
        client = portal.sign_in()
        r = client.get(f"/portal/r/{vend.receipt_no}/")
        page = r.content.decode()
        assert r.status_code == 200 and 'class="receipt receipt-vend"' in page and vend.receipt_no in page

    def test_another_customers_receipt_is_not_found(self, portal):
        shop = portal.pay.shop
        other = f.account(
            shop.world.a1, unit=shop.world.a1.units[2], meter_=shop.sts_meter(drn="01234567897")
        )
        vend = _sell(shop, account=other, key="other")
        client = portal.sign_in()
        assert client.get(f"/portal/r/{vend.receipt_no}/").status_code == 404
        assert client.get("/portal/r/NOPE-000001/").status_code == 404
