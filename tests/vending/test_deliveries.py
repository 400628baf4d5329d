"""Credit carried over at a meter replacement reaches the new meter: token, card, remote credit;
pending when it cannot be delivered now, retried, re-issued as the same token, moved on."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from prepay.audit.models import AuditEvent
from prepay.customers.choices import AccountMode
from prepay.meters import actions as m
from prepay.meters.models import Meter
from prepay.simulator.card import platform_verifier
from prepay.simulator.clock import ManualClock
from prepay.simulator.meter import VirtualMeter
from prepay.telemetry.actions import do_cancel_command, poll_once
from prepay.vending import deliveries as d
from prepay.vending.models import CreditDelivery, Delivery, DeliveryStatus, Receipt
from tests import factories as f
from tests.helpers import refused
from tests.telemetry.conftest import make_sim  # noqa: F401  (fleets of virtual meters)
from tests.vending.test_vend import decoder

STS = {"drn": "00000000000", "supply_group_code": "123456", "tariff_index": "01"}


def replace(shop: Any, account: Any, new_meter: Meter, credit: str = "23.4", actor: Any = None) -> Any:
    """Replace the account's meter, carrying ``credit`` kWh over; returns the new installation."""
    old = account.installations.get(ended_at=None)
    return m.do_replace_meter(
        account=account,
        new_meter=new_meter,
        old_closing_reading=Decimal(old.opening_reading) + 50,
        remaining_credit=Decimal(credit),
        new_opening_reading=Decimal("0"),
        reason="display dead",
        actor=actor or shop.world.clerk,
    )


class ReplacementDeliveryTestCase:
    def test_it_issues_the_carried_credit_as_a_token_for_the_new_meter_with_a_receipt(self, shop):
        new = shop.sts_meter()
        inst = replace(shop, shop.account, new)
        delivery = inst.credit_delivery
        assert (delivery.kind, delivery.status, delivery.meter) == (
            Delivery.TOKEN,
            DeliveryStatus.DELIVERED,
            new,
        )
        assert delivery.register_units == Decimal("23.4") and d.state_of(delivery) == d.State.DELIVERED
        token = delivery.tokens.get()
        assert token.meter == new and token.amount == Decimal("23.4")
        meter = decoder()
        assert meter.enter(token.token).accepted and meter.credit(0) == Decimal("23.4")
        receipt = Receipt.objects.get(delivery=delivery)
        assert receipt.point == shop.point and receipt.code.startswith("C1.")  # the site's counter
        event = AuditEvent.objects.get(verb="delivery.create")
        assert event.after["receipt"] == receipt.code and event.after["tokens"] == [token.pk]
        assert AuditEvent.objects.get(verb="meter.replace").after["delivery"] == delivery.pk

    def test_it_loads_the_new_meter_through_its_multiplier(self, shop):
        inst = replace(shop, shop.account, shop.sts_meter(ct_ratio=50), credit="101")
        assert inst.credit_delivery.register_units == Decimal("2.1")  # 101 / 50, rounded up
        assert inst.credit_delivery.tokens.get().amount == Decimal("2.1")

    def test_it_keeps_the_credit_pending_when_no_token_can_be_issued(self, shop):
        new = f.meter(shop.world.a1)  # an STS model without decoder reference number
        inst = replace(shop, shop.account, new)
        delivery = inst.credit_delivery
        assert delivery.status == DeliveryStatus.PENDING and d.state_of(delivery) == d.State.FAILED
        assert "lacks STS parameters" in delivery.last_error and delivery.attempts == 1
        assert not delivery.tokens.exists() and inst.meter == new  # the replacement itself is done
        assert list(d.pending_deliveries()) == [delivery]
        assert AuditEvent.objects.get(verb="delivery.create").after["error"] == delivery.last_error

    def test_it_prepares_the_card_image_for_a_card_meter(self, shop):
        new = f.meter(shop.world.a1, shop.card_model())
        delivery = replace(shop, shop.account, new).credit_delivery
        assert (delivery.kind, d.state_of(delivery)) == (Delivery.CARD, d.State.TO_WRITE)
        card = delivery.card
        assert (card.meter, card.sequence, card.units, card.written_at) == (new, 1, Decimal("23.4"), None)
        vm = VirtualMeter(serial=new.serial, clock=ManualClock(), card_verifier=platform_verifier(new))
        assert vm.insert_card(bytes.fromhex(card.image)).accepted and vm.credit == Decimal("23.4")
        assert list(d.pending_deliveries()) == [delivery]

    def test_it_sends_remote_credit_that_the_meter_confirms(self, shop, make_sim):  # noqa: F811
        new = f.meter(shop.world.a1, shop.networked_model(), protocol="modbus_tcp")
        delivery = replace(shop, shop.account, new).credit_delivery
        assert delivery.kind == Delivery.REMOTE and d.state_of(delivery) == d.State.SENT
        assert delivery.command.params["amount"] == "23.40"
        sim = make_sim([(new, "modbus_tcp")], credit=Decimal("0"))
        poll_once([new])
        delivery.refresh_from_db()
        assert d.state_of(delivery) == d.State.DELIVERED and sim.vm(new).credit == Decimal("23.4")
        assert list(d.pending_deliveries()) == []

    def test_it_delivers_nothing_to_a_remote_fee_control_account(self, shop):
        account = shop.sts_account(mode=AccountMode.REMOTE)
        inst = replace(shop, account, shop.sts_meter())
        assert not CreditDelivery.objects.exists() and not hasattr(inst, "credit_delivery")

    def test_it_delivers_nothing_without_credit(self, shop):
        replace(shop, shop.account, shop.sts_meter(), credit="0")
        assert not CreditDelivery.objects.exists() and not Receipt.objects.exists()

    def test_it_numbers_no_receipt_at_a_site_without_a_counter(self, shop):
        shop.point.active = False
        shop.point.save()
        delivery = replace(shop, shop.account, shop.sts_meter()).credit_delivery
        assert delivery.status == DeliveryStatus.DELIVERED and not Receipt.objects.exists()

    def test_it_moves_credit_that_never_reached_a_meter_on_to_the_next_one(self, shop):
        first = f.meter(shop.world.a1)  # no STS parameters: its token cannot be issued
        stuck = replace(shop, shop.account, first, credit="10").credit_delivery
        second = shop.sts_meter()
        delivery = replace(shop, shop.account, second, credit="5").credit_delivery
        stuck.refresh_from_db()
        assert stuck.status == DeliveryStatus.MOVED and second.serial in stuck.last_error
        assert delivery.energy == Decimal("15.000") and delivery.tokens.get().amount == Decimal("15.0")
        assert AuditEvent.objects.get(verb="delivery.create", after__moved=[stuck.pk])

    def test_it_refuses_a_new_meter_that_takes_no_credit_and_changes_nothing(self, shop):
        model = shop.networked_model()
        refused(
            "no_delivery",
            m.do_replace_meter,
            account=shop.account,
            new_meter=f.meter(shop.world.a1, model),  # no keypad, no card, no protocol
            old_closing_reading=Decimal("150"),
            remaining_credit=Decimal("5"),
            new_opening_reading=Decimal("0"),
            actor=shop.world.clerk,
        )


class RetryDeliveryTestCase:
    def pending(self, shop: Any) -> tuple[CreditDelivery, Meter]:
        new = f.meter(shop.world.a1)
        return replace(shop, shop.account, new).credit_delivery, new

    def test_it_issues_the_token_once_the_meter_can_take_it(self, shop):
        delivery, new = self.pending(shop)
        Meter.objects.filter(pk=new.pk).update(**STS)  # the STS parameters were entered meanwhile
        d.do_retry_delivery(delivery=delivery, actor=shop.world.clerk)
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 2
        assert delivery.last_error == "" and decoder().enter(delivery.tokens.get().token).accepted
        assert AuditEvent.objects.filter(verb="delivery.retry", actor=shop.world.clerk).exists()

    def test_a_cashier_may_retry(self, shop):
        delivery, new = self.pending(shop)
        Meter.objects.filter(pk=new.pk).update(**STS)
        d.do_retry_delivery(delivery=delivery, actor=shop.world.cashier)
        assert delivery.tokens.count() == 1

    def test_it_keeps_the_error_when_it_fails_again(self, shop):
        delivery, _new = self.pending(shop)
        d.do_retry_delivery(delivery=delivery, actor=shop.world.clerk)
        delivery.refresh_from_db()
        assert delivery.attempts == 2 and delivery.status == DeliveryStatus.PENDING
        assert "lacks STS parameters" in delivery.last_error

    def test_it_refuses_a_delivered_token_a_card_to_write_and_credit_on_its_way(self, shop):
        delivered = replace(shop, shop.account, shop.sts_meter()).credit_delivery
        refused("already_delivered", d.do_retry_delivery, delivery=delivered, actor=shop.world.clerk)
        card = replace(shop, shop.account, f.meter(shop.world.a1, shop.card_model())).credit_delivery
        refused("card_ready", d.do_retry_delivery, delivery=card, actor=shop.world.clerk)
        remote_meter = f.meter(shop.world.a1, shop.networked_model(), protocol="mqtt")
        remote = replace(shop, shop.account, remote_meter).credit_delivery
        refused("in_flight", d.do_retry_delivery, delivery=remote, actor=shop.world.clerk)

    def test_it_sends_remote_credit_again_after_the_command_failed(self, shop):
        remote_meter = f.meter(shop.world.a1, shop.networked_model(), protocol="mqtt")
        delivery = replace(shop, shop.account, remote_meter).credit_delivery
        first = delivery.command
        do_cancel_command(first, actor=shop.world.clerk, reason="meter offline for a week")
        assert d.state_of(CreditDelivery.objects.get(pk=delivery.pk)) == d.State.FAILED
        d.do_retry_delivery(delivery=delivery, actor=shop.world.clerk)
        delivery.refresh_from_db()
        assert delivery.command != first and delivery.command.status == "queued"
        assert delivery.command.idempotency_key == f"delivery:{delivery.pk}:2"

    def test_it_refuses_when_the_meter_no_longer_serves_the_account(self, shop):
        delivery, new = self.pending(shop)
        Meter.objects.filter(pk=new.pk).update(**STS)
        new.installations.update(ended_at=timezone.now())  # taken out (test set-up)
        refused("meter_removed", d.do_retry_delivery, delivery=delivery, actor=shop.world.clerk)

    @pytest.mark.parametrize("who", ["finance", "auditor", "clerk_a2", "clerk_b"])
    def test_it_refuses_wrong_roles_and_outsiders(self, shop, who):
        delivery, _new = self.pending(shop)
        refused("forbidden", d.do_retry_delivery, delivery=delivery, actor=getattr(shop.world, who))


class ReissueDeliveryTokensTestCase:
    def test_it_shows_the_same_token_again(self, shop):
        delivery = replace(shop, shop.account, shop.sts_meter()).credit_delivery
        before = list(delivery.tokens.values_list("token", "tid"))
        again = d.do_reissue_delivery_tokens(delivery=delivery, actor=shop.world.cashier)
        assert [(t.token, t.tid) for t in again] == before and delivery.tokens.count() == 1
        assert AuditEvent.objects.filter(verb="token.reprint", actor=shop.world.cashier).count() == 1

    def test_it_refuses_before_a_token_was_issued(self, shop):
        delivery = replace(shop, shop.account, f.meter(shop.world.a1)).credit_delivery
        refused("no_token", d.do_reissue_delivery_tokens, delivery=delivery, actor=shop.world.clerk)

    @pytest.mark.parametrize("who", ["finance", "clerk_a2", "clerk_b"])
    def test_it_refuses_wrong_roles_and_outsiders(self, shop, who):
        delivery = replace(shop, shop.account, shop.sts_meter()).credit_delivery
        refused("forbidden", d.do_reissue_delivery_tokens, delivery=delivery, actor=getattr(shop.world, who))


class CloseWithUndeliveredCreditTestCase:
    """Closing refunds the credit on the meter; credit carried over that never reached a meter would
    be lost, so closing waits for it to be delivered (then it is on the meter and counted)."""

    def test_it_refuses_to_close_while_carried_credit_is_pending(self, shop):
        from prepay.vending.lifecycle import do_close_account

        new = f.meter(shop.world.a1)  # takes no token yet: the delivery stays pending
        replace(shop, shop.account, new)
        err = refused(
            "credit_undelivered",
            do_close_account,
            account=shop.account,
            final_reading=Decimal("10"),
            remaining_credit=Decimal("0"),
            actor=shop.world.clerk,
        )
        assert "23.400 kWh" in str(err.message)

    def test_it_closes_once_the_credit_was_delivered(self, shop):
        from prepay.customers.choices import AccountStatus
        from prepay.vending.lifecycle import do_close_account

        new = f.meter(shop.world.a1)
        delivery = replace(shop, shop.account, new).credit_delivery
        Meter.objects.filter(pk=new.pk).update(**STS)
        d.do_retry_delivery(delivery=delivery, actor=shop.world.clerk)
        do_close_account(
            account=shop.account,
            final_reading=Decimal("10"),
            remaining_credit=Decimal("23.4"),  # the delivered credit, now on the meter
            actor=shop.world.clerk,
        )
        shop.account.refresh_from_db()
        assert shop.account.status == AccountStatus.CLOSED
