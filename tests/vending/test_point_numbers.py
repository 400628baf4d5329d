"""A sale takes its point's row lock and its receipt number in one statement
(``prepay.vending.points.lock_and_number``); a sale refused after it gives the number back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from prepay.common.errors import NotFound
from prepay.vending.actions import do_topup_float
from prepay.vending.models import Receipt, VendingPoint
from prepay.vending.points import lock_and_number
from tests.helpers import changes_nothing, refused
from tests.vending.test_vend import sell


def _fields(point: VendingPoint) -> dict[str, object]:
    return {f.attname: getattr(point, f.attname) for f in VendingPoint._meta.concrete_fields}


class LockAndNumberTestCase:
    def test_it_reads_the_point_as_the_orm_does_with_the_next_number_taken(self, shop):
        agent = shop.agent
        agent.credit_limit = Decimal("12.34")
        agent.receipt_prefix = "AG"
        agent.save()
        before = VendingPoint.objects.get(pk=agent.pk).receipt_counter
        with transaction.atomic(), CaptureQueriesContext(connection) as q:
            point = lock_and_number(agent.pk)
        assert len(q.captured_queries) == 1
        assert point.receipt_counter == before + 1
        assert _fields(point) == _fields(VendingPoint.objects.get(pk=agent.pk))
        assert isinstance(point.credit_limit, Decimal) and point.uses_float is True

    def test_no_such_point(self, shop):
        with transaction.atomic(), pytest.raises(NotFound):
            lock_and_number(10**9)

    def test_a_sale_refused_after_the_number_gives_it_back(self, shop):
        agent = shop.agent
        agent.credit_limit = Decimal("0.00")
        agent.save()
        do_topup_float(point=agent, amount="30.00", actor=shop.world.finance, idempotency_key="f-1")
        first = sell(shop, point=agent, amount="20.00")
        counter = VendingPoint.objects.get(pk=agent.pk).receipt_counter
        with changes_nothing():
            refused("agent_over_limit", sell, shop=shop, point=agent, amount="10.01")
        VendingPoint.objects.filter(pk=agent.pk).update(active=False)
        with changes_nothing():
            refused("point_inactive", sell, shop=shop, point=agent, amount="1.00")
        assert VendingPoint.objects.get(pk=agent.pk).receipt_counter == counter
        VendingPoint.objects.filter(pk=agent.pk).update(active=True)
        second = sell(shop, point=agent, amount="10.00")
        numbers = list(
            Receipt.objects.filter(point=agent).order_by("number").values_list("number", flat=True)
        )
        assert numbers == [counter, counter + 1]
        assert numbers == [first.issued_receipt.number, second.issued_receipt.number]
