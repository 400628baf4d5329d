"""Adjustments: energy given as a token / card / remote credit, money corrections; four eyes."""

from __future__ import annotations

from decimal import Decimal

from prepay.audit.models import AuditEvent
from prepay.customers.choices import AccountMode
from prepay.dbcare import services
from prepay.telemetry.models import MeterCommand
from prepay.vending import ledger
from prepay.vending.actions import do_approve_adjustment, do_reject_adjustment, do_request_adjustment
from prepay.vending.cards import verify_card_image
from prepay.vending.models import AdjustmentStatus, JournalLine
from tests import factories as f
from tests.helpers import refused
from tests.vending.test_vend import decoder, sell


class EnergyAdjustmentTestCase:
    def test_compensation_energy_reaches_an_sts_meter_as_a_token_after_approval(self, shop):
        adj = do_request_adjustment(
            account=shop.account, actor=shop.world.clerk, reason="outage 2h", energy="5"
        )
        assert adj.status == AdjustmentStatus.REQUESTED and adj.tokens.count() == 0
        do_approve_adjustment(adjustment=adj, actor=shop.world.finance)
        token = adj.tokens.get()
        d = decoder()
        assert d.enter(token.token).accepted and d.credit(0) == Decimal("5.0")
        assert shop.account.ledger.count() == 0  # no money moves
        assert AuditEvent.objects.filter(verb="adjustment.approve").get().after["token_ids"] == [token.pk]

    def test_behind_a_ct_the_units_round_up(self, shop):
        account = shop.sts_account({"ct_ratio": 50})
        adj = do_request_adjustment(account=account, actor=shop.world.clerk, reason="x", energy="101")
        assert adj.register_units == Decimal("2.1")

    def test_a_card_meter_gets_a_card_image_and_a_networked_one_a_command(self, shop):
        acc = shop.card_account()
        meter = acc.installations.get().meter
        sell(shop, account=acc, amount="10.00")  # card #1
        adj = do_request_adjustment(account=acc, actor=shop.world.clerk, reason="x", energy="3")
        do_approve_adjustment(adjustment=adj, actor=shop.world.finance)
        assert adj.card.sequence == 2
        assert verify_card_image(meter, bytes.fromhex(adj.card.image), last_sequence=1).units == Decimal(
            "3.0"
        )
        acc2 = shop.networked_account()
        adj2 = do_request_adjustment(account=acc2, actor=shop.world.clerk, reason="x", energy="2")
        do_approve_adjustment(adjustment=adj2, actor=shop.world.finance)
        assert Decimal(
            MeterCommand.objects.get(idempotency_key=f"adjustment:{adj2.pk}").params["amount"]
        ) == Decimal("2")

    def test_refusals(self, shop):
        refused(
            "cannot_remove_energy",
            do_request_adjustment,
            account=shop.account,
            actor=shop.world.clerk,
            reason="x",
            energy="-1",
        )
        refused(
            "reason_required",
            do_request_adjustment,
            account=shop.account,
            actor=shop.world.clerk,
            reason="",
            energy="1",
        )
        refused(
            "amount_or_energy",
            do_request_adjustment,
            account=shop.account,
            actor=shop.world.clerk,
            reason="x",
        )
        refused(
            "invalid_amount",
            do_request_adjustment,
            account=shop.account,
            actor=shop.world.clerk,
            reason="x",
            energy="zero",
        )
        refused(
            "forbidden",
            do_request_adjustment,
            account=shop.account,
            actor=shop.world.cashier,
            reason="x",
            energy="1",
        )
        refused(
            "forbidden",
            do_request_adjustment,
            account=shop.account,
            actor=shop.world.clerk_a2,
            reason="x",
            energy="1",
        )
        remote = shop.sts_account(mode=AccountMode.REMOTE)
        refused(
            "energy_not_for_balance",
            do_request_adjustment,
            account=remote,
            actor=shop.world.clerk,
            reason="x",
            energy="1",
        )
        adj = do_request_adjustment(account=shop.account, actor=shop.world.clerk, reason="x", energy="1")
        refused("forbidden", do_approve_adjustment, adjustment=adj, actor=shop.world.clerk_a2)
        do_reject_adjustment(adjustment=adj, actor=shop.world.finance, note="no outage on record")
        refused("already_decided", do_approve_adjustment, adjustment=adj, actor=shop.world.admin)


class MoneyAdjustmentTestCase:
    def test_a_money_correction_is_a_ledger_entry_against_the_adjustments_book(self, shop):
        account = shop.sts_account(mode=AccountMode.REMOTE)
        sell(shop, account=account, amount="20.00")
        adj = do_request_adjustment(
            account=account, actor=shop.world.clerk, reason="meter misread", amount="-5.00"
        )
        do_approve_adjustment(adjustment=adj, actor=shop.world.admin)
        assert ledger.balance_of(account) == Decimal("15.00")
        assert JournalLine.objects.filter(book="adjustments").get().amount == Decimal("-5.00")
        big = do_request_adjustment(account=account, actor=shop.world.clerk, reason="x", amount="-15.01")
        refused("exceeds_balance", do_approve_adjustment, adjustment=big, actor=shop.world.admin)
        assert services.check() == []

    def test_nobody_approves_their_own(self, shop):
        both = f.user(
            memberships=[
                (shop.world.a1.group, shop.world.a1.site, "clerk"),
                (shop.world.a1.group, shop.world.a1.site, "finance"),
            ]
        )
        adj = do_request_adjustment(account=shop.account, actor=both, reason="x", amount="1.00")
        refused("own_request", do_approve_adjustment, adjustment=adj, actor=both)
