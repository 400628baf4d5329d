"""Fixtures for report tests: sales at two sites of group A and one in group B."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.utils import timezone

from prepay.tenancy.choices import Role
from tests import factories as f
from tests.reports import builders as b
from tests.reports.catalogue import install_pending
from tests.tokens.conftest import store  # noqa: F401  (a counter that sells for real: ``shop``)
from tests.vending.conftest import shop  # noqa: F401


@dataclass
class Sales:
    world: Any
    p1: Any
    p2: Any
    pb: Any
    acc1: Any
    acc2: Any
    accb: Any
    old: Any  # a vend in the previous ten-day period
    finance_b: Any
    debtor: Any  # an account at A1 in arrears for 40 days


def today_at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(timezone.localdate(), time(hour, minute), tzinfo=timezone.get_current_timezone())


@pytest.fixture
def sales(world: Any) -> Sales:
    w = world
    p1 = b.point(w.a1.site, "c1", name="Counter A1")
    p2 = b.point(w.a2.site, "c2", name="Counter A2")
    pb = b.point(w.b1.site, "cb", name="Counter B1")
    acc1 = f.account(w.a1, meter_=w.a1.meters[0])
    acc2 = f.account(w.a2, meter_=w.a2.meters[0])
    accb = f.account(w.b1, meter_=w.b1.meters[0])
    now = timezone.localtime()
    at = now - timedelta(minutes=5)
    b.sale(acc1, p1, "100.00", by=w.cashier, at=at)
    b.sale(acc1, p1, "50.50", by=w.cashier, method="card", at=at)
    b.sale(acc2, p2, "20.25", by=w.cashier, at=at)
    b.sale(accb, pb, "999.99", at=at)
    old = b.sale(acc1, p1, "7.00", by=w.cashier, at=now - timedelta(days=11))
    finance_b = f.user("finance_b", memberships=[(w.b1.group, None, Role.FINANCE)])
    debtor = f.account(w.a1, unit=w.a1.units[1], meter_=w.a1.meters[1], mode="remote")
    b.entry(debtor, "payment", "10.00", at=now - timedelta(days=50))
    b.entry(debtor, "charge", "-25.00", at=now - timedelta(days=40))
    b.entry(debtor, "charge", "-5.00", at=now - timedelta(days=2))
    return Sales(w, p1, p2, pb, acc1, acc2, accb, old, finance_b, debtor)


@pytest.fixture(autouse=True)
def _pending_translations() -> None:
    """Chinese pages use the reports' pending translations until the lead merges them."""
    install_pending()


#: the month the ``statements`` fixture's meter trees and apportionment runs cover
MARCH = {"date_from": "2026-03-01", "date_to": "2026-03-31", "month": "2026-03"}


@dataclass
class Statements:
    sales: Sales
    masters: dict[str, Any]  # site code -> master meter of its tree
    groups: dict[str, Any]  # site code -> public meter group
    debtors: dict[str, Any]  # site code -> an account in arrears


@pytest.fixture
def statements(sales: Sales) -> Statements:
    """Something for every report at every site (A1, A2, B1): a master meter with two sub-meters read
    over March 2026, an apportionment run starting in March, an account in arrears (A1's is the
    ``sales`` fixture's debtor), a 300.00 sale voided today, and at A1 a 12.00 sale whose reversal
    awaits approval."""
    from decimal import Decimal

    from prepay.billing.models import ApportionmentRun, ApportionmentShare, PublicMeterGroup, SubMeter
    from tests.billing.conftest import at, read

    w = sales.world
    masters, groups, debtors = {}, {}, {"a1": sales.debtor}
    for code, sw in (("a1", w.a1), ("a2", w.a2), ("b1", w.b1)):
        master = f.meter(sw, sw.three)
        read(master, at(2026, 3, 1), "0")
        read(master, at(2026, 4, 1), "100")
        SubMeter.objects.create(meter=master)
        for kwh in ("60", "38"):
            sub = f.meter(sw)
            read(sub, at(2026, 3, 1), "0")
            read(sub, at(2026, 4, 1), kwh)
            SubMeter.objects.create(meter=sub, master=master)
        masters[code] = master
        group = PublicMeterGroup.objects.create(
            site=sw.site, name=f"Lifts {code}", method="area", price=Decimal("0.6000")
        )
        run = ApportionmentRun.objects.create(
            public_group=group,
            period_start=date(2026, 3, 1),
            period_end=date(2026, 4, 1),
            method="area",
            total_energy=Decimal("10"),
            basis_total="2",
            price="0.6000",
        )
        for unit in sw.units[:2]:
            ApportionmentShare.objects.create(
                run=run, unit=unit, basis="1", fraction="1/2", energy=Decimal("5.000"), amount=Decimal("3.00")
            )
        groups[code] = group
        point = {"a1": sales.p1, "a2": sales.p2, "b1": sales.pb}[code]
        account = {"a1": sales.acc1, "a2": sales.acc2, "b1": sales.accb}[code]
        seller, approver = (sales.finance_b, sales.finance_b) if code == "b1" else (w.cashier, w.finance)
        typo = b.sale(account, point, "300.00", by=seller)  # and its void: for the reversals report
        b.reversal(typo, by=seller, decided_by=approver)
        if code != "a1":
            debtor = f.account(sw, unit=sw.units[2], mode="remote")
            b.entry(debtor, "charge", "-9.00", at=timezone.now() - timedelta(days=5))
            debtors[code] = debtor
    from prepay.vending.models import Reversal

    asked = b.sale(sales.acc1, sales.p1, "12.00", by=w.cashier, status="pending_approval")
    Reversal.objects.create(  # a reversal still awaiting approval: no decision, nothing paid back
        kind="reversal",
        account=sales.acc1,
        vend=asked,
        amount=asked.amount,
        method="cash",
        reason="waiting",
        token_entered=False,
        requested_by=w.cashier,
        point=sales.p1,
    )
    return Statements(sales, masters, groups, debtors)


#: the ten-day period the ``till`` fixture trades in; the ``clock`` stands after it (12 June 2026)
TILL_PERIOD = ("2026-06-01", "2026-06-10")


@dataclass
class Till:
    shop: Any
    shift: Any  # closed: cash counted 0.50 short
    void: Any  # reversed in the open shift
    refunded: Any  # reversed by finance after the shift closed


@pytest.fixture
def till(clock: Any, shop: Any) -> Till:  # noqa: F811 (the imported fixture)
    """A1's trade on 5 June 2026 (period 1–10 June), with real actions: a shift with a ¥100 float sells
    50.00 cash, 20.00 card, 30.00 cash (voided in the shift) and 40.00 cash; it closes with 189.50 cash
    and 20.00 card counted (0.50 short); then finance refunds the 40.00 sale. An agent's float is topped
    up with 200.00 cash and the agent sells 15.00. Takings: cash 290.00 (120 − 30 + 200), card 20.00.
    The clock then stands at 12 June 15:30, after the period."""
    from zoneinfo import ZoneInfo

    from prepay.vending import actions as v

    w = shop.world
    v.do_close_shift(shift=shop.shift, actor=w.cashier, declared={})
    clock.move_to(datetime(2026, 6, 5, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    shift = v.do_open_shift(point=shop.point, actor=w.cashier, opening_float="100.00")

    def sell(key: str, amount: str, method: str = "cash", **kw: Any) -> Any:
        clock.shift(timedelta(minutes=5))
        return v.do_vend(
            account=shop.account,
            actor=kw.pop("actor", w.cashier),
            point=kw.pop("point", shop.point),
            idempotency_key=key,
            amount=amount,
            method=method,
        )

    sell("t1", "50.00")
    sell("t2", "20.00", "card")
    voided = sell("t3", "30.00")
    r = v.do_request_reversal(vend=voided, actor=w.cashier, reason="typo", token_entered=False)
    void = v.do_approve_reversal(reversal=r, actor=w.finance)
    late = sell("t4", "40.00")
    v.do_topup_float(point=shop.agent, amount="200.00", actor=w.finance, idempotency_key="till-float")
    agent = f.user("agent_till", memberships=[(w.a1.group, w.a1.site, Role.CASHIER)])
    sell("t5", "15.00", point=shop.agent, actor=agent)
    clock.shift(timedelta(hours=1))
    v.do_close_shift(shift=shift, actor=w.cashier, declared={"cash": "189.50", "card": "20.00"})
    clock.shift(timedelta(hours=1))
    r = v.do_request_reversal(vend=late, actor=w.cashier, reason="wrong account", token_entered=False)
    refunded = v.do_approve_reversal(reversal=r, actor=w.finance)
    clock.move_to(datetime(2026, 6, 12, 15, 30, tzinfo=ZoneInfo("Asia/Shanghai")))
    return Till(shop, shift, void, refunded)
