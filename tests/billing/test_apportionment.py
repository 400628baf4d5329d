"""Public-area apportionment over stored readings, charged to unit accounts, with a statement."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from prepay.billing import actions
from prepay.billing.models import ApportionmentShare, PublicMeterGroup
from prepay.billing.reports import apportionment_statement
from prepay.vending import ledger
from prepay.vending.models import LedgerEntry
from tests import factories as f
from tests.billing.conftest import at, read
from tests.helpers import refused


def public_group(w: Any, method: str, units: list[Any]) -> PublicMeterGroup:
    g = PublicMeterGroup.objects.create(site=w.site, name="Lifts", method=method, price=Decimal("0.6000"))
    lift = f.meter(w, w.three)
    read(lift, at(2026, 3, 1), "1000")
    read(lift, at(2026, 4, 1), "1300")
    g.meters.add(lift)
    g.units.add(*units)
    return g


class DoRunApportionmentTestCase:
    def test_it_shares_by_area_and_writes_a_statement(self, world: Any) -> None:
        w = world.a1
        u1, u2, u3 = w.units[:3]
        for u, area in ((u1, "60"), (u2, "90"), (u3, "150")):
            u.area = Decimal(area)
            u.save()
        accs = [f.account(w, unit=u) for u in (u1, u2)]  # u3 stands empty: its share is not collected
        g = public_group(w, "area", [u1, u2, u3])
        run = actions.do_run_apportionment(
            public_group=g, start=date(2026, 3, 1), end=date(2026, 4, 1), actor=world.admin
        )
        assert run.total_energy == Decimal("300")
        assert [ledger.balance_of(a) for a in accs] == [Decimal("-36.00"), Decimal("-54.00")]
        rows = apportionment_statement(run)
        assert [(r.energy, r.amount, r.account != "") for r in rows] == [
            (Decimal("60.000"), Decimal("36.00"), True),
            (Decimal("90.000"), Decimal("54.00"), True),
            (Decimal("150.000"), Decimal("90.00"), False),
        ]
        assert "300.000 × 60.000 / 300.000 = 60.000" in rows[0].explanation
        again = actions.do_run_apportionment(
            public_group=g, start=date(2026, 3, 1), end=date(2026, 4, 1), actor=world.admin
        )
        assert again.pk == run.pk and LedgerEntry.objects.count() == 2

    def test_it_shares_by_consumption(self, world: Any) -> None:
        w = world.a1
        m1, m2 = f.meter(w), f.meter(w)
        a1 = f.account(w, unit=w.units[0], meter_=m1)  # installed now with opening 100
        a2 = f.account(w, unit=w.units[1], meter_=m2)
        for m, end in ((m1, "110"), (m2, "130")):
            i = m.installations.get()
            i.started_at = at(2026, 2, 1)
            i.save()
            read(m, at(2026, 3, 1), "100")
            read(m, at(2026, 4, 1), end)
        g = public_group(w, "consumption", [w.units[0], w.units[1]])
        actions.do_run_apportionment(
            public_group=g, start=date(2026, 3, 1), end=date(2026, 4, 1), actor=world.admin
        )
        shares = {s.account_id: s.energy for s in ApportionmentShare.objects.all()}
        assert shares == {a1.pk: Decimal("75.000"), a2.pk: Decimal("225.000")}  # own use 10 : 30

    def test_it_refuses_a_bad_period_the_wrong_role_and_an_outsider(self, world: Any) -> None:
        g = public_group(world.a1, "equal", [world.a1.units[0]])
        d1, d2 = date(2026, 4, 1), date(2026, 3, 1)
        refused(
            "bad_period", actions.do_run_apportionment, public_group=g, start=d1, end=d2, actor=world.admin
        )
        refused(
            "forbidden", actions.do_run_apportionment, public_group=g, start=d2, end=d1, actor=world.clerk
        )
        refused(
            "forbidden", actions.do_run_apportionment, public_group=g, start=d2, end=d1, actor=world.clerk_b
        )
