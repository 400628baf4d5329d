"""The clerk's 换表 lands on the carried credit's page (token, receipt, card, remote); the list of
pending deliveries; retry and re-issue from the page; the account page's panel."""

from __future__ import annotations

from decimal import Decimal

import pytest

from prepay.customers.choices import AccountMode
from prepay.meters.models import Meter
from prepay.vending.models import CreditDelivery, DeliveryStatus, Receipt
from tests import factories as f
from tests.counter.conftest import client_for
from tests.vending.test_deliveries import STS, replace


def form(new_serial: str, credit: str = "23.4") -> dict[str, str]:
    return {
        "old_closing_reading": "150",
        "remaining_credit": credit,
        "new_meter": new_serial,
        "new_opening_reading": "0",
        "reason": "display dead",
        "old_meter_faulty": "on",
    }


class ReplaceMeterViewTestCase:
    def test_it_shows_the_new_meters_token_and_receipt_after_replacing(self, shop):
        new = shop.sts_meter()
        c = client_for(shop.world.clerk)
        url = f"/counter/accounts/{shop.account.pk}/replace-meter/"
        assert b"delivered to the new one at once" in c.get(url).content
        response = c.post(url, form(new.serial), follow=True)
        delivery = CreditDelivery.objects.get()
        assert response.redirect_chain[-1][0] == f"/counter/deliveries/{delivery.pk}/"
        html = response.content.decode()
        token = delivery.tokens.get()
        assert str(token) in html and Receipt.objects.get(delivery=delivery).code in html
        assert 'data-state="delivered"' in html and 'id="print-receipt"' in html

    def test_it_says_a_remote_fee_control_account_needs_no_delivery(self, shop):
        account = shop.sts_account(mode=AccountMode.REMOTE)
        c = client_for(shop.world.clerk)
        url = f"/counter/accounts/{account.pk}/replace-meter/"
        assert b"stays on its balance" in c.get(url).content
        response = c.post(url, form(shop.sts_meter().serial, "0"), follow=True)
        assert response.redirect_chain[-1][0] == f"/counter/accounts/{account.pk}/"
        assert b"stays on its balance" in response.content and not CreditDelivery.objects.exists()

    def test_it_shows_a_refusal_on_the_form_and_changes_nothing(self, shop):
        c = client_for(shop.world.clerk)
        response = c.post(
            f"/counter/accounts/{shop.account.pk}/replace-meter/", form(shop.sts_meter().serial, "-1")
        )
        assert response.status_code == 400 and not CreditDelivery.objects.exists()


class DeliveryPageTestCase:
    def test_it_shows_why_credit_is_pending_and_retries_it(self, shop):
        new = f.meter(shop.world.a1)
        delivery = replace(shop, shop.account, new).credit_delivery
        c = client_for(shop.world.clerk)
        page = c.get(f"/counter/deliveries/{delivery.pk}/").content.decode()
        assert (
            'data-state="failed"' in page and "lacks STS parameters" in page and 'id="delivery-retry"' in page
        )
        Meter.objects.filter(pk=new.pk).update(**STS)
        response = c.post(f"/counter/deliveries/{delivery.pk}/retry/", follow=True)
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.DELIVERED
        assert str(delivery.tokens.get()) in response.content.decode()

    def test_it_shows_the_same_token_again(self, shop):
        delivery = replace(shop, shop.account, shop.sts_meter()).credit_delivery
        c = client_for(shop.world.cashier)
        response = c.post(f"/counter/deliveries/{delivery.pk}/reissue/", follow=True)
        assert b"nothing new was generated" in response.content and delivery.tokens.count() == 1

    def test_it_refuses_a_retry_with_its_message(self, shop):
        delivery = replace(shop, shop.account, shop.sts_meter()).credit_delivery
        response = client_for(shop.world.clerk).post(f"/counter/deliveries/{delivery.pk}/retry/", follow=True)
        assert b"already reached the meter" in response.content and delivery.tokens.count() == 1

    def test_it_offers_the_card_write_for_a_card_meter(self, shop):
        delivery = replace(shop, shop.account, f.meter(shop.world.a1, shop.card_model())).credit_delivery
        page = client_for(shop.world.clerk).get(f"/counter/deliveries/{delivery.pk}/").content.decode()
        assert 'id="card-write-button"' in page and f'data-image="{delivery.card.image}"' in page
        assert 'id="cardbridge"' in page and 'id="card-download"' in page

    @pytest.mark.parametrize("who,status", [("finance", 403), ("clerk_a2", 404), ("clerk_b", 404)])
    def test_it_refuses_wrong_roles_and_outsiders(self, shop, who, status):
        new = f.meter(shop.world.a1)
        delivery = replace(shop, shop.account, new).credit_delivery
        c = client_for(getattr(shop.world, who))
        assert c.get(f"/counter/deliveries/{delivery.pk}/").status_code == status
        Meter.objects.filter(pk=new.pk).update(**STS)
        assert c.post(f"/counter/deliveries/{delivery.pk}/retry/").status_code == status
        assert not CreditDelivery.objects.get().tokens.exists()


class PendingDeliveriesTestCase:
    def test_it_lists_what_is_waiting_at_the_users_sites(self, shop):
        stuck = replace(shop, shop.account, f.meter(shop.world.a1), credit="7").credit_delivery
        c = client_for(shop.world.clerk)
        page = c.get("/counter/deliveries/").content.decode()
        assert f'data-testid="delivery-row-{stuck.pk}"' in page and "Not delivered: try again" in page
        assert "Every card purchase is on its card." in page
        assert (
            f"delivery-row-{stuck.pk}"
            not in client_for(shop.world.clerk_a2).get("/counter/deliveries/").content.decode()
        )

    def test_it_lists_card_sales_not_yet_written(self, shop):
        from tests.vending.test_vend import sell

        vend = sell(shop, account=shop.card_account())
        page = client_for(shop.world.cashier).get("/counter/deliveries/").content.decode()
        assert f'data-testid="card-row-{vend.card.pk}"' in page and vend.receipt_no in page

    def test_it_refuses_who_neither_sells_nor_keeps_accounts(self, shop):
        assert client_for(shop.world.finance).get("/counter/deliveries/").status_code == 403


class AccountDeliveriesPanelTestCase:
    def test_it_shows_pending_credit_on_the_account_page(self, shop):
        stuck = replace(shop, shop.account, f.meter(shop.world.a1), credit="7").credit_delivery
        page = client_for(shop.world.clerk).get(f"/counter/accounts/{shop.account.pk}/").content.decode()
        assert 'id="deliveries-panel"' in page and f"delivery-row-{stuck.pk}" in page
        assert 'id="deliveries-pending"' in page and stuck.energy == Decimal("7.000")

    def test_it_shows_no_panel_when_nothing_was_carried(self, shop):
        page = client_for(shop.world.clerk).get(f"/counter/accounts/{shop.account.pk}/").content.decode()
        assert 'id="deliveries-panel"' not in page
