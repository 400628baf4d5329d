"""IC cards at the counter: a write confirmed by read-back (or by hand), and reading a card (插卡查询)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from prepay.audit.models import AuditEvent
from prepay.vending import deliveries as d
from prepay.vending.models import CardImage, DeliveryStatus
from tests import factories as f
from tests.helpers import refused
from tests.vending.test_deliveries import replace
from tests.vending.test_vend import sell


def card_sale(shop):
    account = shop.card_account()
    vend = sell(shop, account=account, amount="50.00")
    return account, vend.card


class ConfirmCardWriteTestCase:
    def test_it_marks_a_sale_written_when_the_card_reads_back_the_image(self, shop):
        _account, card = card_sale(shop)
        assert list(d.unwritten_cards()) == [card]
        d.do_confirm_card_write(card=card, actor=shop.world.cashier, read_back=card.image.upper())
        card.refresh_from_db()
        assert card.written_at is not None and card.written_by == shop.world.cashier
        assert list(d.unwritten_cards()) == []
        event = AuditEvent.objects.get(verb="card.write")
        assert event.after["how"] == "bridge" and event.after["vend"] == card.vend_id

    def test_it_delivers_carried_credit_written_to_the_card(self, shop):
        delivery = replace(shop, shop.account, f.meter(shop.world.a1, shop.card_model())).credit_delivery
        d.do_confirm_card_write(card=delivery.card, actor=shop.world.clerk, by_hand=True)
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.DELIVERED and d.state_of(delivery) == d.State.DELIVERED
        event = AuditEvent.objects.get(verb="card.write")
        assert event.after["how"] == "by_hand" and event.after["delivery"] == delivery.pk

    def test_it_refuses_a_card_that_does_not_hold_the_purchase(self, shop):
        _account, card = card_sale(shop)
        error = refused(
            "card_mismatch", d.do_confirm_card_write, card=card, actor=shop.world.cashier, read_back="00ff"
        )
        assert "write it again" in str(error)
        refused("card_mismatch", d.do_confirm_card_write, card=card, actor=shop.world.cashier, read_back=None)
        assert CardImage.objects.get(pk=card.pk).written_at is None

    def test_it_refuses_a_second_confirmation(self, shop):
        _account, card = card_sale(shop)
        d.do_confirm_card_write(card=card, actor=shop.world.cashier, by_hand=True)
        refused("already_written", d.do_confirm_card_write, card=card, actor=shop.world.cashier, by_hand=True)

    @pytest.mark.parametrize("who", ["finance", "auditor", "clerk_a2", "clerk_b"])
    def test_it_refuses_wrong_roles_and_outsiders(self, shop, who):
        _account, card = card_sale(shop)
        refused("forbidden", d.do_confirm_card_write, card=card, actor=getattr(shop.world, who), by_hand=True)


class ReadCardTestCase:
    def test_it_finds_the_account_the_card_belongs_to(self, shop):
        account, card = card_sale(shop)
        reading = d.read_card(image_hex=card.image, actor=shop.world.cashier)
        assert reading.account == account and reading.meter == card.meter
        assert (reading.sequence, reading.units, reading.record) == (1, card.units, card)
        assert reading.newest_sequence == 1 and card.units == Decimal("85.1")

    def test_it_refuses_a_blank_an_unreadable_and_a_forged_card(self, shop):
        _account, card = card_sale(shop)
        refused("blank_card", d.read_card, image_hex="", actor=shop.world.cashier)
        refused("unreadable_card", d.read_card, image_hex="zz", actor=shop.world.cashier)
        refused("unreadable_card", d.read_card, image_hex="5043", actor=shop.world.cashier)
        forged = card.image[:-2] + ("00" if not card.image.endswith("00") else "11")
        refused("unknown_card", d.read_card, image_hex=forged, actor=shop.world.cashier)

    @pytest.mark.parametrize("who", ["clerk_a2", "clerk_b"])
    def test_it_does_not_show_outsiders_the_account(self, shop, who):
        _account, card = card_sale(shop)
        refused("unknown_card", d.read_card, image_hex=card.image, actor=getattr(shop.world, who))
