"""The order page: how to pay while unpaid, the token once the provider's notification sold it (and by
SMS), a calm message when a paid order waits for the office; another customer's order is 404."""

from __future__ import annotations

import re

from django.test import Client

from prepay.customers.choices import AccountStatus
from prepay.customers.models import Account
from prepay.notify.models import Notification
from prepay.payments.models import PaymentOrder
from tests import factories as f


class OrderViewTestCase:
    def test_it_links_to_the_simulated_wallet_and_shows_the_token_once_paid(self, portal):
        client = portal.sign_in()
        order = portal.pay.order("50.00")
        page = client.get(f"/portal/orders/{order.number}/").content.decode()
        assert f'href="/payments/sim/{order.number}/"' in page and 'data-status="created"' in page
        assert client.get(f"/portal/orders/{order.number}/status.json").json() == {"status": "created"}
        wallet = client.get(f"/payments/sim/{order.number}/")
        assert wallet.status_code == 200 and 'id="simulated-pay"' in wallet.content.decode()
        r = client.post(f"/payments/sim/{order.number}/")
        assert r.status_code == 302 and r["Location"] == f"/portal/orders/{order.number}/"
        order.refresh_from_db()
        token = order.vend.tokens.get().token
        page = client.get(f"/portal/orders/{order.number}/").content.decode()
        assert 'id="order-sold"' in page and "".join(re.findall(r'class="p-group">(\d+)<', page)) == token
        assert client.get(f"/portal/orders/{order.number}/status.json").json() == {"status": "sold"}
        sms = Notification.objects.get(key="purchase")
        assert (
            sms.recipient == "13812345678" and " ".join(token[i : i + 4] for i in range(0, 20, 4)) in sms.body
        )

    def test_a_paid_order_that_could_not_be_sold_says_so_calmly(self, portal):
        client = portal.sign_in()
        order = portal.pay.order("50.00")
        Account.objects.filter(pk=portal.account.pk).update(status=AccountStatus.CLOSED)
        portal.pay.post(*portal.pay.signed(order))
        page = client.get(f"/portal/orders/{order.number}/").content.decode()
        assert 'id="order-attention"' in page and "nothing is lost" in page

    def test_another_customers_order_is_not_found(self, portal):
        shop = portal.pay.shop
        other = f.account(
            shop.world.a1, unit=shop.world.a1.units[2], meter_=shop.sts_meter(drn="01234567897")
        )
        order = portal.pay.order("20.00", account=other)
        client = portal.sign_in()
        assert client.get(f"/portal/orders/{order.number}/").status_code == 404
        assert client.get(f"/portal/orders/{order.number}/status.json").status_code == 404

    def test_the_wallet_page_is_gone_with_the_simulator_off(self, portal, settings):
        order = portal.pay.order("20.00")
        settings.PREPAY_PAYMENTS_SIMULATOR = False
        assert Client().get(f"/payments/sim/{order.number}/").status_code == 404
        assert PaymentOrder.objects.get().status == "created"
