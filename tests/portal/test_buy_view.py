"""Buying online: the amount, a priced review (nothing written), then the order; every refusal says
why in the reader's language and writes nothing; a double submit makes one order."""

from __future__ import annotations

from decimal import Decimal

import pytest

from prepay.customers.choices import AccountStatus
from prepay.customers.models import Account
from prepay.payments.models import PaymentOrder
from prepay.tenancy.models import Site


def _buy(client, portal, amount="50", step="review", **extra):
    data = {
        "amount": amount,
        "provider": portal.pay.provider.pk,
        "request_key": extra.pop("key", "form-1"),
        "step": step,
    }
    return client.post(f"/portal/a/{portal.account.number}/buy/", data, **extra)


class BuyViewTestCase:
    def test_it_offers_the_providers_and_presets(self, portal):
        client = portal.sign_in()
        page = client.get(f"/portal/a/{portal.account.number}/buy/").content.decode()
        assert "Simulated Pay" in page and 'data-amount="50"' in page and 'name="request_key"' in page

    def test_the_review_prices_the_purchase_and_writes_nothing(self, portal):
        client = portal.sign_in()
        r = _buy(client, portal, "50")
        page = r.content.decode()
        assert r.status_code == 200 and 'id="confirm-pay"' in page and "85.042" in page
        assert PaymentOrder.objects.count() == 0

    def test_confirming_creates_one_order_even_when_sent_twice(self, portal):
        client = portal.sign_in()
        r1 = _buy(client, portal, "50", step="confirm")
        r2 = _buy(client, portal, "50", step="confirm")
        order = PaymentOrder.objects.get()
        assert r1["Location"] == r2["Location"] == f"/portal/orders/{order.number}/"
        assert order.amount == Decimal("50.00") and order.account == portal.account

    @pytest.mark.parametrize(
        ("amount", "english", "chinese"),
        [
            ("1E+2", "must be a plain number", "必须是普通数字"),
            ("0", "at least one fen", "至少为一分"),
            ("abc", "must be a plain number", "必须是普通数字"),
        ],
    )
    def test_it_refuses_a_bad_amount_in_both_languages(self, portal, amount, english, chinese):
        client = portal.sign_in()
        r = _buy(client, portal, amount, step="confirm", HTTP_ACCEPT_LANGUAGE="en")
        assert r.status_code == 400 and english in r.content.decode()
        r = _buy(client, portal, amount, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert r.status_code == 400 and chinese in r.content.decode()
        assert PaymentOrder.objects.count() == 0

    def test_it_refuses_above_the_sites_sale_limit_before_payment(self, portal):
        Site.objects.filter(pk=portal.account.site_id).update(max_sale_amount=Decimal("100.00"))
        client = portal.sign_in()
        r = _buy(client, portal, "150", step="confirm")
        assert r.status_code == 400 and "largest sale allowed" in r.content.decode()
        assert PaymentOrder.objects.count() == 0

    def test_a_closed_account_cannot_buy(self, portal):
        Account.objects.filter(pk=portal.account.pk).update(status=AccountStatus.CLOSED)
        client = portal.sign_in()
        page = client.get(f"/portal/a/{portal.account.number}/").content.decode()
        assert 'id="buy"' not in page
        r = _buy(client, portal, "50", step="confirm")
        assert (
            r.status_code == 400 and "is closed" in r.content.decode() and PaymentOrder.objects.count() == 0
        )

    def test_a_provider_of_another_group_cannot_be_chosen(self, portal):
        from tests.payments.conftest import add_online_point, add_simulated

        world = portal.pay.shop.world
        world.admin = world.admin  # group A's admin cannot add B's provider: use B's own admin
        from tests import factories as f

        world.admin = f.user(memberships=[(world.b1.group, None, "admin")])
        foreign = add_simulated(world, add_online_point(world.b1.site, "bx"), code="bsim")
        client = portal.sign_in()
        data = {"amount": "50", "provider": foreign.pk, "request_key": "k", "step": "confirm"}
        r = client.post(f"/portal/a/{portal.account.number}/buy/", data)
        assert r.status_code == 400 and PaymentOrder.objects.count() == 0

    def test_without_a_provider_it_says_to_buy_at_a_vending_point(self, portal, settings):
        settings.PREPAY_PAYMENTS_SIMULATOR = False
        client = portal.sign_in()
        page = client.get(f"/portal/a/{portal.account.number}/buy/").content.decode()
        assert 'id="no-providers"' in page
