"""Reversals and refunds: one person asks, another decides; new entries, never deletion."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from prepay.customers.models import Account
from prepay.dbcare import services
from prepay.telemetry.models import CommandStatus, MeterCommand
from prepay.tokens.models import IssuedToken, TokenKind
from prepay.vending import ledger
from prepay.vending.actions import (
    do_approve_reversal,
    do_reject_reversal,
    do_request_refund,
    do_request_reversal,
)
from prepay.vending.models import EntryKind, Receipt, ReversalStatus, Vend, VendStatus
from tests import factories as f
from tests.helpers import refused
from tests.vending.test_vend import decoder, sell


class ReversalTestCase:
    def test_an_unentered_token_is_reversed_and_the_money_paid_back(self, shop):
        vend = sell(shop, amount="50.00")
        r = do_request_reversal(
            vend=vend, actor=shop.world.cashier, reason="wrong meter", token_entered=False
        )
        vend.refresh_from_db()
        assert vend.status == VendStatus.PENDING_APPROVAL and r.status == ReversalStatus.REQUESTED
        do_approve_reversal(reversal=r, actor=shop.world.finance)
        vend.refresh_from_db()
        assert vend.status == VendStatus.REVERSED
        kinds = list(shop.account.ledger.order_by("seq").values_list("kind", "amount"))
        assert kinds == [
            (EntryKind.PAYMENT, Decimal("50.00")),
            (EntryKind.VEND, Decimal("-50.00")),
            (EntryKind.REVERSAL, Decimal("50.00")),
            (EntryKind.REFUND, Decimal("-50.00")),
        ]
        assert ledger.balance_of(shop.account) == Decimal("0.00")
        assert Vend.objects.filter(pk=vend.pk).exists()  # nothing deleted
        assert Receipt.objects.filter(reversal=r).get().code == f"C1.{shop.point.pk}-000002"
        assert not IssuedToken.objects.filter(kind=TokenKind.MANAGEMENT).exists()
        assert services.check() == []

    def test_an_entered_token_gets_a_clear_credit_token(self, shop):
        vend = sell(shop, amount="50.00")
        d = decoder()
        assert d.enter(vend.tokens.get().token).accepted
        r = do_request_reversal(vend=vend, actor=shop.world.cashier, reason="paid twice", token_entered=True)
        do_approve_reversal(reversal=r, actor=shop.world.finance)
        clear = IssuedToken.objects.filter(meter=shop.meter, kind=TokenKind.MANAGEMENT).get()
        assert d.enter(clear.token).accepted and d.credit(0) == Decimal("0")

    def test_arrears_settled_by_the_vend_come_back_with_the_reversal(self, shop):
        with transaction.atomic():
            ledger.post(
                Account.objects.select_for_update().get(pk=shop.account.pk),
                EntryKind.FEE,
                Decimal("-20.00"),
                actor=None,
            )
        vend = sell(shop, amount="50.00")
        r = do_request_reversal(vend=vend, actor=shop.world.cashier, reason="x", token_entered=False)
        do_approve_reversal(reversal=r, actor=shop.world.finance)
        assert ledger.balance_of(shop.account) == Decimal("-20.00")

    def test_a_queued_remote_credit_is_cancelled(self, shop):
        account = shop.networked_account()
        vend = sell(shop, account=account, amount="10.00")
        r = do_request_reversal(vend=vend, actor=shop.world.cashier, reason="x", token_entered=False)
        do_approve_reversal(reversal=r, actor=shop.world.finance)
        assert MeterCommand.objects.get().status == CommandStatus.CANCELLED

    def test_nobody_approves_their_own_request(self, shop):
        vend = sell(shop)
        r = do_request_reversal(vend=vend, actor=shop.world.clerk, reason="x", token_entered=False)
        refused("forbidden", do_approve_reversal, reversal=r, actor=shop.world.cashier)  # wrong role
        refused("forbidden", do_approve_reversal, reversal=r, actor=shop.world.clerk_b)  # outsider
        do_reject_reversal(reversal=r, actor=shop.world.finance, note="not justified")
        vend.refresh_from_db()
        assert vend.status == VendStatus.COMPLETED and ledger.balance_of(shop.account) == Decimal("0.00")

    def test_the_requester_cannot_decide(self, shop):
        vend = sell(shop)
        approver = f.user(
            memberships=[
                (shop.world.a1.group, shop.world.a1.site, "finance"),
                (shop.world.a1.group, shop.world.a1.site, "clerk"),
            ]
        )
        r = do_request_reversal(vend=vend, actor=approver, reason="x", token_entered=False)
        refused("own_request", do_approve_reversal, reversal=r, actor=approver)
        refused("own_request", do_reject_reversal, reversal=r, actor=approver, note="n")

    def test_refusals(self, shop):
        vend = sell(shop)
        refused(
            "reason_required",
            do_request_reversal,
            vend=vend,
            actor=shop.world.cashier,
            reason=" ",
            token_entered=False,
        )
        refused(
            "forbidden",
            do_request_reversal,
            vend=vend,
            actor=shop.world.finance,
            reason="x",
            token_entered=False,
        )
        refused(
            "forbidden",
            do_request_reversal,
            vend=vend,
            actor=shop.world.clerk_a2,
            reason="x",
            token_entered=False,
        )
        r = do_request_reversal(vend=vend, actor=shop.world.cashier, reason="x", token_entered=False)
        refused(
            "not_reversible",
            do_request_reversal,
            vend=vend,
            actor=shop.world.cashier,
            reason="x",
            token_entered=False,
        )
        do_approve_reversal(reversal=r, actor=shop.world.finance)
        refused("already_decided", do_approve_reversal, reversal=r, actor=shop.world.admin)


class RefundTestCase:
    def test_a_refund_pays_out_part_of_a_positive_balance(self, shop):
        from prepay.customers.choices import AccountMode

        account = shop.sts_account(mode=AccountMode.REMOTE)
        sell(shop, account=account, amount="80.00")
        r = do_request_refund(
            account=account,
            amount="30.00",
            actor=shop.world.clerk,
            reason="moving out",
            idempotency_key="rf-1",
        )
        assert (
            do_request_refund(
                account=account,
                amount="30.00",
                actor=shop.world.clerk,
                reason="moving out",
                idempotency_key="rf-1",
            )
            == r
        )
        do_approve_reversal(reversal=r, actor=shop.world.finance)
        assert ledger.balance_of(account) == Decimal("50.00")
        refused(
            "exceeds_balance",
            do_request_refund,
            account=account,
            amount="50.01",
            actor=shop.world.clerk,
            reason="x",
        )
        refused(
            "invalid_amount",
            do_request_refund,
            account=account,
            amount="-1",
            actor=shop.world.clerk,
            reason="x",
        )
        assert services.check() == []
