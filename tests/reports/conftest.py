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
    over March 2026, an apportionment run starting in March, and an account in arrears (A1's is the
    ``sales`` fixture's debtor)."""
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
        if code != "a1":
            debtor = f.account(sw, unit=sw.units[2], mode="remote")
            b.entry(debtor, "charge", "-9.00", at=timezone.now() - timedelta(days=5))
            debtors[code] = debtor
    return Statements(sales, masters, groups, debtors)
