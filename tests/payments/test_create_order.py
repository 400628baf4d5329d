"""Creating an online order: priced and checked as the sale will be, before anybody pays; a refusal
writes nothing; the same form key gives the same order."""

from __future__ import annotations

from decimal import Decimal

import pytest

from prepay.audit.models import AuditEvent
from prepay.common.errors import ActionError
from prepay.customers.choices import AccountStatus
from prepay.customers.models import Account
from prepay.payments.actions import do_set_provider_active, providers_for
from prepay.payments.models import PaymentOrder
from tests import factories as f
from tests.payments.conftest import add_online_point, add_simulated


class CreateOrderTestCase:
    def test_it_creates_an_order_with_a_provider_order_number(self, pay, clock):
        order = pay.order("50")
        assert order.amount == Decimal("50.00") and order.status == "created"
        assert (
            len(order.number) == 23 and order.number.startswith("P20260612153000") and order.number.isalnum()
        )
        assert (order.expires_at - order.created_at).total_seconds() == 1800
        event = AuditEvent.objects.get(verb="payment.order")
        assert (
            event.actor_name == f"customer:{pay.shop.account.customer.number}"
            and event.after["amount"] == "50.00"
        )

    @pytest.mark.parametrize(
        ("amount", "code"),
        [("0", "invalid_amount"), ("1e3", "invalid_amount"), ("60000", "amount_too_large")],
    )
    def test_it_refuses_what_the_sale_would_refuse(self, pay, amount, code):
        with pytest.raises(ActionError) as exc:
            pay.order(amount)
        assert exc.value.code == code and PaymentOrder.objects.count() == 0

    def test_it_refuses_a_closed_account(self, pay):
        Account.objects.filter(pk=pay.shop.account.pk).update(status=AccountStatus.CLOSED)
        with pytest.raises(ActionError) as exc:
            pay.order()
        assert exc.value.code == "account_closed" and PaymentOrder.objects.count() == 0

    def test_it_refuses_a_provider_that_does_not_serve_the_account(self, pay):
        w = pay.shop.world
        other_site = add_simulated(w, add_online_point(w.a2.site, "a2"), code="a2sim", site=w.a2.site)
        with pytest.raises(ActionError) as exc:
            _order_with(pay, other_site)
        assert exc.value.code == "provider_unavailable"
        do_set_provider_active(provider=pay.provider, active=False, actor=w.admin)
        with pytest.raises(ActionError):
            pay.order()
        assert PaymentOrder.objects.count() == 0

    def test_the_same_form_key_gives_the_same_order(self, pay):
        first = pay.order("50", request_key="k-1")
        assert pay.order("50", request_key="k-1") == first
        with pytest.raises(ActionError) as exc:
            pay.order("60", request_key="k-1")
        assert exc.value.code == "idempotency_conflict" and PaymentOrder.objects.count() == 1

    def test_providers_for_lists_the_group_and_site_providers(self, pay, settings):
        assert providers_for(pay.shop.account) == [pay.provider]
        outsider = f.account(pay.shop.world.b1)
        assert providers_for(outsider) == []
        settings.PREPAY_PAYMENTS_SIMULATOR = False
        assert providers_for(pay.shop.account) == []


def _order_with(pay, provider):
    from prepay.payments.actions import do_create_order
    from prepay.portal.actions import CustomerActor

    acc = pay.shop.account
    return do_create_order(account=acc, provider=provider, amount="50", actor=CustomerActor(acc.customer))
