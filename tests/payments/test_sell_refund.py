"""Finance decides a paid order that was not sold: sell it once its problem is fixed, or refund it
through the provider (or record a refund made in the merchant platform); never the wrong role, never
another site's order, never twice."""

from __future__ import annotations

from decimal import Decimal

import pytest

from prepay.audit.models import AuditEvent
from prepay.common.errors import ActionError, PermissionDenied
from prepay.customers.choices import AccountStatus
from prepay.customers.models import Account
from prepay.payments.actions import do_refund_order, do_sell_order
from prepay.payments.choices import OrderStatus
from prepay.tenancy.models import Site
from prepay.vending.models import Vend
from tests import factories as f


def _waiting(pay, amount="50.00"):
    order = pay.order(amount)
    Site.objects.filter(pk=pay.shop.world.a1.site.pk).update(max_sale_amount=Decimal("10.00"))
    pay.post(*pay.signed(order))
    order.refresh_from_db()
    assert order.status == OrderStatus.ATTENTION
    return order


class SellOrderTestCase:
    def test_it_sells_after_the_problem_is_fixed(self, pay):
        order = _waiting(pay)
        Site.objects.filter(pk=pay.shop.world.a1.site.pk).update(max_sale_amount=Decimal("50000.00"))
        done = do_sell_order(order=order, actor=pay.shop.world.finance)
        assert done.status == OrderStatus.SOLD and done.decided_by == pay.shop.world.finance
        vend = Vend.objects.get()
        assert vend.amount == Decimal("50.00") and vend.created_by == pay.provider.user
        assert AuditEvent.objects.filter(verb="payment.sell", actor=pay.shop.world.finance).exists()
        with pytest.raises(ActionError) as exc:
            do_sell_order(order=order, actor=pay.shop.world.finance)
        assert exc.value.code == "not_waiting" and Vend.objects.count() == 1

    def test_a_sale_still_refused_changes_nothing(self, pay):
        order = _waiting(pay)
        with pytest.raises(ActionError) as exc:
            do_sell_order(order=order, actor=pay.shop.world.admin)
        assert exc.value.code == "amount_too_large"
        order.refresh_from_db()
        assert order.status == OrderStatus.ATTENTION and Vend.objects.count() == 0

    def test_it_sells_what_was_paid_when_the_amount_differed(self, pay):
        order = pay.order("50.00")
        pay.post(*pay.signed(order, amount=Decimal("30.00")))
        order.refresh_from_db()
        do_sell_order(order=order, actor=pay.shop.world.finance)
        assert Vend.objects.get().amount == Decimal("30.00")

    @pytest.mark.parametrize("who", ["cashier", "clerk", "clerk_a2", "clerk_b"])
    def test_the_wrong_role_or_an_outsider_is_refused(self, pay, who):
        order = _waiting(pay)
        with pytest.raises(PermissionDenied):
            do_sell_order(order=order, actor=getattr(pay.shop.world, who))
        outsider_finance = f.user(memberships=[(pay.shop.world.b1.group, None, "finance")])
        with pytest.raises(PermissionDenied):
            do_sell_order(order=order, actor=outsider_finance)


class RefundOrderTestCase:
    def test_it_refunds_through_the_provider(self, pay):
        order = _waiting(pay)
        done = do_refund_order(order=order, actor=pay.shop.world.finance, reason="limit")
        assert done.status == OrderStatus.REFUNDED and done.refund_ref.startswith("SIMREFUND")
        assert done.refund_no == "R" + order.number[1:] and done.refunded_at is not None
        assert AuditEvent.objects.filter(verb="payment.refund").count() == 1
        with pytest.raises(ActionError):
            do_refund_order(order=done, actor=pay.shop.world.finance, reason="again")

    def test_it_records_a_refund_made_in_the_merchant_platform(self, pay):
        order = _waiting(pay)
        done = do_refund_order(
            order=order, actor=pay.shop.world.admin, reason="called", reference="50300000001"
        )
        assert done.refund_ref == "50300000001"

    def test_it_needs_a_reason_and_a_waiting_order(self, pay):
        order = _waiting(pay)
        with pytest.raises(ActionError) as exc:
            do_refund_order(order=order, actor=pay.shop.world.finance, reason=" ")
        assert exc.value.code == "reason_required"
        sold = pay.order("5.00")
        Site.objects.filter(pk=pay.shop.world.a1.site.pk).update(max_sale_amount=Decimal("50000.00"))
        pay.post(*pay.signed(sold))
        with pytest.raises(ActionError) as exc:
            do_refund_order(order=sold, actor=pay.shop.world.finance, reason="x")
        assert exc.value.code == "not_waiting"

    def test_a_closed_accounts_payment_is_refunded_not_lost(self, pay):
        order = pay.order()
        Account.objects.filter(pk=pay.shop.account.pk).update(status=AccountStatus.CLOSED)
        pay.post(*pay.signed(order))
        done = do_refund_order(order=order, actor=pay.shop.world.finance, reason="account closed")
        assert done.status == OrderStatus.REFUNDED and Vend.objects.count() == 0

    def test_the_wrong_role_is_refused(self, pay):
        order = _waiting(pay)
        with pytest.raises(PermissionDenied):
            do_refund_order(order=order, actor=pay.shop.world.cashier, reason="x")
        order.refresh_from_db()
        assert order.status == OrderStatus.ATTENTION and order.refund_no == ""
