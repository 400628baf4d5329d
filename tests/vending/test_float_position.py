"""An agent's float position lives on its point's row (``float_seq``, ``float_balance``): the sale's
``UPDATE … RETURNING`` that takes the receipt number draws on it, top-ups and reversals move it as
they write their entries, and it is always the float ledger's newest entry."""

from __future__ import annotations

import importlib
from decimal import Decimal
from types import SimpleNamespace

from django.apps import apps
from django.db import connection

from prepay.dbcare import services
from prepay.vending.actions import do_topup_float
from prepay.vending.models import AgentFloatEntry, VendingPoint
from prepay.vending.reversals import do_approve_reversal, do_request_reversal
from tests import factories as f
from tests.helpers import changes_nothing, refused
from tests.vending.test_vend import sell


def position(point: VendingPoint) -> tuple[int, Decimal]:
    row = VendingPoint.objects.get(pk=point.pk)
    return row.float_seq, row.float_balance


def newest(point: VendingPoint) -> tuple[int, Decimal]:
    last = point.float_entries.order_by("-seq").values_list("seq", "balance_after").first()
    return last if last is not None else (0, Decimal("0.00"))


def journal_findings() -> list[services.Finding]:
    return [x for x in services.check() if x.area == "journal"]


class FloatPositionTestCase:
    def test_top_ups_sales_and_a_reversal_move_it_with_their_entries(self, shop):
        agent, finance = shop.agent, shop.world.finance
        assert position(agent) == (0, Decimal("0.00"))
        do_topup_float(point=agent, amount="100.00", actor=finance, idempotency_key="t1")
        assert position(agent) == (1, Decimal("100.00")) == newest(agent)
        cashier = f.user(memberships=[(shop.world.a1.group, shop.world.a1.site, "cashier")])
        vend = sell(shop, point=agent, actor=cashier, amount="30.00")
        sell(shop, point=agent, actor=cashier, amount="20.00")
        assert position(agent) == (3, Decimal("50.00")) == newest(agent)
        entry = AgentFloatEntry.objects.get(point=agent, seq=2)
        assert (entry.vend_id, entry.amount, entry.balance_after) == (
            vend.pk,
            Decimal("-30.00"),
            Decimal("70.00"),
        )
        r = do_request_reversal(
            vend=vend, actor=shop.world.cashier, reason="wrong meter", token_entered=False
        )
        do_approve_reversal(reversal=r, actor=finance)
        assert position(agent) == (4, Decimal("80.00")) == newest(agent)
        assert services.check() == []

    def test_a_sale_past_the_credit_limit_is_refused_and_draws_nothing(self, shop):
        agent = shop.agent
        agent.credit_limit = Decimal("5.00")
        agent.save()
        do_topup_float(point=agent, amount="10.00", actor=shop.world.finance, idempotency_key="t1")
        with changes_nothing():
            e = refused("agent_over_limit", sell, shop=shop, point=agent, amount="15.01")
        assert "10.00" in str(e) and "15.01" in str(e)  # what is left before the sale, and the sale
        assert position(agent) == (1, Decimal("10.00"))
        sell(shop, point=agent, amount="15.00")  # exactly to the limit
        assert position(agent) == (2, Decimal("-5.00")) == newest(agent)

    def test_a_point_without_a_float_keeps_none(self, shop):
        sell(shop, amount="50.00")
        assert position(shop.point) == (0, Decimal("0.00")) and not shop.point.float_entries.exists()

    def test_an_edit_from_an_older_copy_does_not_turn_it_back(self, shop):
        stale = VendingPoint.objects.get(pk=shop.agent.pk)
        do_topup_float(point=shop.agent, amount="40.00", actor=shop.world.finance, idempotency_key="t1")
        stale.name = "Corner shop (new name)"
        stale.save()
        row = VendingPoint.objects.get(pk=shop.agent.pk)
        assert row.name == "Corner shop (new name)" and (row.float_seq, row.float_balance) == (
            1,
            Decimal("40.00"),
        )

    def test_the_check_finds_a_position_that_is_not_the_newest_entry(self, shop):
        do_topup_float(point=shop.agent, amount="40.00", actor=shop.world.finance, idempotency_key="t1")
        assert journal_findings() == []
        VendingPoint.objects.filter(pk=shop.agent.pk).update(float_balance=Decimal("400.00"))
        (finding,) = journal_findings()
        assert f"point id {shop.agent.pk}" in finding.where
        assert "#1" in finding.what and "40000" in finding.what
        VendingPoint.objects.filter(pk=shop.point.pk).update(float_seq=3)  # a point with no entries
        assert len(journal_findings()) == 2

    def test_the_upgrade_sets_each_point_from_its_newest_entry(self, shop):
        do_topup_float(point=shop.agent, amount="40.00", actor=shop.world.finance, idempotency_key="t1")
        sell(shop, point=shop.agent, amount="15.00")
        VendingPoint.objects.update(float_seq=0, float_balance=Decimal("0.00"))  # as the new columns start
        upgrade = importlib.import_module("prepay.vending.migrations.0011_point_float_position")
        upgrade.backfill(apps, SimpleNamespace(connection=connection))
        assert position(shop.agent) == (2, Decimal("25.00")) and position(shop.point) == (0, Decimal("0.00"))
        assert services.check() == []
