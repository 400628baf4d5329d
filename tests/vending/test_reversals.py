"""Reversals and refunds: one person asks, another decides; new entries, never deletion."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from prepay.audit.models import AuditEvent
from prepay.customers.models import Account
from prepay.dbcare import services
from prepay.telemetry.models import CommandStatus, MeterCommand
from prepay.tokens.models import IssuedToken, TokenKind
from prepay.vending import ledger
from prepay.vending.actions import (
    do_approve_reversal,
    do_close_shift,
    do_reject_reversal,
    do_request_refund,
    do_request_reversal,
    shift_summary,
)
from prepay.vending.models import EntryKind, JournalLine, Receipt, ReversalStatus, Vend, VendStatus
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


class SettlementTestCase:
    """Void at the counter while the shift is open; refund by finance once it is closed."""

    def _reverse(self, shop, vend):
        from prepay.vending.reversals import settlement_of

        r = do_request_reversal(vend=vend, actor=shop.world.cashier, reason="typo", token_entered=False)
        do_approve_reversal(reversal=r, actor=shop.world.finance)
        pay = JournalLine.objects.get(
            entry__idempotency_key=f"reversal:{r.pk}:pay", book__in=["cash", "agent_float"]
        )
        return r, settlement_of(r), pay

    def test_it_voids_at_the_counter_while_the_shift_is_open(self, shop):
        vend = sell(shop, amount="50.00", method="card")
        r, settlement, pay = self._reverse(shop, vend)
        assert settlement == "void"
        assert (pay.book, pay.point_id, pay.method, pay.amount) == (
            "cash",
            shop.point.pk,
            "card",
            Decimal("-50.00"),
        )
        event = AuditEvent.objects.filter(verb="reversal.approve").get()
        assert event.after["settlement"] == "void"
        summary = shift_summary(shop.shift)
        assert summary["voids"]["card"] == Decimal("50.00") and summary["expected"]["card"] == Decimal("0.00")
        assert services.check() == []

    def test_it_leaves_a_closed_shift_alone_and_finance_refunds(self, shop):
        vend = sell(shop, amount="50.00")
        closed = do_close_shift(shift=shop.shift, actor=shop.world.cashier, declared={"cash": "50.00"})
        r, settlement, pay = self._reverse(shop, vend)
        assert settlement == "finance"
        assert (pay.book, pay.point_id, pay.method) == ("cash", None, "cash")
        summary = shift_summary(closed)
        assert summary["expected"]["cash"] == Decimal("50.00") == Decimal(closed.expected["cash"])
        assert summary["voids"]["cash"] == Decimal("0.00")
        assert summary["finance_refunds"] == {"count": 1, "amount": Decimal("50.00")}
        assert AuditEvent.objects.filter(verb="reversal.approve").get().after["settlement"] == "finance"
        assert ledger.balance_of(shop.account) == Decimal("0.00") and services.check() == []

    def test_it_credits_an_agents_float_back(self, shop):
        from prepay.vending.actions import do_topup_float

        do_topup_float(point=shop.agent, amount="100.00", actor=shop.world.finance, idempotency_key="t1")
        agent = f.user(memberships=[(shop.world.a1.group, shop.world.a1.site, "cashier")])
        vend = sell(shop, point=shop.agent, actor=agent, amount="30.00")
        r, settlement, pay = self._reverse(shop, vend)
        assert settlement == "agent_float" and (pay.book, pay.point_id) == ("agent_float", shop.agent.pk)

    def test_a_balance_refund_is_paid_by_finance(self, shop):
        from prepay.customers.choices import AccountMode
        from prepay.vending.reversals import settlement_of

        account = shop.sts_account(mode=AccountMode.REMOTE)
        sell(shop, account=account, amount="80.00")
        r = do_request_refund(account=account, amount="30.00", actor=shop.world.clerk, reason="moving out")
        assert settlement_of(r) == ""  # not approved yet
        do_approve_reversal(reversal=r, actor=shop.world.finance)
        assert settlement_of(r) == "finance"
        assert shift_summary(shop.shift)["voids"]["cash"] == Decimal("0.00")
