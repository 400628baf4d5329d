"""IC cards at the counter: the write confirmed with the bridge's read-back (or by hand), the image
download (fallback), and reading a card to open its account (插卡查询)."""

from __future__ import annotations

import pytest

from prepay.audit.models import AuditEvent
from prepay.tenancy.choices import Role
from prepay.vending.models import CardImage
from tests import factories as f
from tests.counter.conftest import client_for
from tests.vending.test_vend import sell


def card_sale(shop):
    vend = sell(shop, account=shop.card_account())
    return vend, vend.card


class CardSaleScreenTestCase:
    def test_it_offers_to_write_the_card_and_the_download(self, shop):
        vend, card = card_sale(shop)
        screen = client_for(shop.world.cashier).get(f"/counter/vends/{vend.pk}/").content.decode()
        assert f'data-image="{card.image}"' in screen and "Write to card (F8)" in screen
        assert (
            f'href="/counter/cards/{card.pk}/image.bin"' in screen and 'id="card-written-by-hand"' in screen
        )


class CardWrittenViewTestCase:
    def test_it_confirms_the_write_with_the_read_back(self, shop):
        _vend, card = card_sale(shop)
        response = client_for(shop.world.cashier).post(
            f"/counter/cards/{card.pk}/written/", {"read_back": card.image}, HTTP_HX_REQUEST="true"
        )
        card.refresh_from_db()
        assert response.status_code == 200 and b'id="card-written"' in response.content
        assert card.written_by == shop.world.cashier

    def test_it_confirms_a_write_with_another_tool_by_hand(self, shop):
        _vend, card = card_sale(shop)
        client_for(shop.world.cashier).post(
            f"/counter/cards/{card.pk}/written/", {"by_hand": "1"}, HTTP_HX_REQUEST="true"
        )
        assert AuditEvent.objects.get(verb="card.write").after["how"] == "by_hand"

    def test_it_says_when_the_card_does_not_hold_the_purchase(self, shop):
        _vend, card = card_sale(shop)
        response = client_for(shop.world.cashier).post(
            f"/counter/cards/{card.pk}/written/", {"read_back": "00"}, HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 400 and b"write it again" in response.content
        assert CardImage.objects.get(pk=card.pk).written_at is None

    @pytest.mark.parametrize("who,status", [("finance", 403), ("clerk_a2", 404), ("clerk_b", 404)])
    def test_it_refuses_wrong_roles_and_outsiders(self, shop, who, status):
        _vend, card = card_sale(shop)
        c = client_for(getattr(shop.world, who))
        assert c.post(f"/counter/cards/{card.pk}/written/", {"by_hand": "1"}).status_code == status
        assert c.get(f"/counter/cards/{card.pk}/image.bin").status_code == status
        assert CardImage.objects.get(pk=card.pk).written_at is None


class CardImageViewTestCase:
    def test_it_downloads_the_sealed_image(self, shop):
        _vend, card = card_sale(shop)
        response = client_for(shop.world.cashier).get(f"/counter/cards/{card.pk}/image.bin")
        assert response.content == bytes.fromhex(card.image)
        assert f"card-{card.meter.serial}-1.bin" in response["Content-Disposition"]


class CardReadViewTestCase:
    def test_it_opens_the_account_of_the_card(self, shop):
        vend, card = card_sale(shop)
        response = client_for(shop.world.cashier).post(
            "/counter/cards/read/", {"image": card.image}, HTTP_HX_REQUEST="true"
        )
        html = response.content.decode()
        assert response.status_code == 200 and response["HX-Retarget"] == "#counter-work"
        assert 'id="account-card"' in html and vend.account.number in html and 'id="card-reading"' in html
        assert "reading it confirmed it" in html  # the card holds the purchase: its write is confirmed
        assert CardImage.objects.get(pk=card.pk).written_at is not None

    @pytest.mark.parametrize(
        "image,message", [("", b"holds no purchase"), ("0011", b"does not hold a purchase of ours")]
    )
    def test_it_says_what_is_wrong_with_the_card(self, shop, image, message):
        response = client_for(shop.world.cashier).post(
            "/counter/cards/read/", {"image": image}, HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 400 and message in response.content

    def test_it_refuses_whoever_does_not_sell(self, shop):
        _vend, card = card_sale(shop)
        assert (
            client_for(shop.world.clerk).post("/counter/cards/read/", {"image": card.image}).status_code
            == 403
        )

    def test_it_does_not_open_another_sites_card(self, shop, world):
        _vend, card = card_sale(shop)
        cashier_a2 = f.user("cashier_a2", memberships=[(world.a1.group, world.a2.site, Role.CASHIER)])
        response = client_for(cashier_a2).post(
            "/counter/cards/read/", {"image": card.image}, HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 400 and b"belongs to no meter you may see" in response.content
