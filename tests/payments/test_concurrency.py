"""A notification arriving twice at once (PostgreSQL, real threads, one connection each): the order's
row lock lets one sell and the other find it sold — one vend, one receipt, one token, one message."""

from __future__ import annotations

import pytest
from django.test import Client

from prepay.dbcare import services
from prepay.notify.models import Channel, Notification
from prepay.payments.choices import OrderStatus, Outcome
from prepay.payments.models import PaymentNotification
from prepay.tokens.models import IssuedToken
from prepay.vending.models import Receipt, Vend
from tests.meters.test_concurrency import _race

pytestmark = pytest.mark.services


class ConcurrentNotificationTestCase:
    def test_the_same_notification_twice_at_once_sells_once(self, pg_transactional, pay):
        Channel.objects.create(
            group=pay.shop.world.a1.group, kind="sms", name="SMS", config={"url": "http://127.0.0.1:9/"}
        )
        customer = pay.shop.account.customer
        customer.phone = "13800000000"
        customer.save()
        order = pay.order("50.00")
        headers, body = pay.signed(order)

        def deliver(_i: int) -> int:
            return (
                Client()
                .post(
                    f"/payments/notify/{pay.provider.pk}/",
                    data=body,
                    content_type="application/json",
                    headers=headers,
                )
                .status_code
            )

        assert _race(2, deliver) == [200, 200]
        order.refresh_from_db()
        assert order.status == OrderStatus.SOLD
        assert Vend.objects.count() == 1 and Receipt.objects.filter(point=pay.point).count() == 1
        assert IssuedToken.objects.count() == 1
        assert Notification.objects.filter(key="purchase").count() == 1
        outcomes = sorted(PaymentNotification.objects.values_list("outcome", flat=True))
        assert outcomes == sorted([Outcome.SOLD, Outcome.DUPLICATE])
        assert services.check() == []

    def test_two_retries_of_many_orders_at_once_sell_each_once(self, pg_transactional, pay):
        orders = [pay.order(f"{10 + i}.00") for i in range(3)]
        notes = [pay.signed(o) for o in orders]

        def deliver(i: int) -> int:
            headers, body = notes[i % len(orders)]
            return (
                Client()
                .post(
                    f"/payments/notify/{pay.provider.pk}/",
                    data=body,
                    content_type="application/json",
                    headers=headers,
                )
                .status_code
            )

        assert _race(6, deliver) == [200] * 6
        assert Vend.objects.count() == 3
        assert sorted(Vend.objects.values_list("amount", flat=True)) == [o.amount for o in orders]
        assert services.check() == []
