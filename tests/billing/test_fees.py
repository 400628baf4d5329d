"""Fees (rent, property, service) charged to accounts, monthly or once, idempotent per period."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from prepay.billing import actions
from prepay.billing.models import FeeCharge, FeeSchedule
from prepay.vending import ledger
from prepay.vending.models import LedgerEntry
from tests import factories as f
from tests.helpers import refused


def schedule(w: Any, **kw: Any) -> FeeSchedule:
    base = {
        "site": w.site,
        "kind": "property",
        "name": "Property fee",
        "amount": Decimal("120.00"),
        "frequency": "monthly",
        "starts_on": date(2026, 1, 1),
    }
    return FeeSchedule.objects.create(**{**base, **kw})


class DoChargeFeesTestCase:
    def test_it_charges_monthly_and_one_off_fees_once(self, world: Any) -> None:
        w = world.a1
        acc = f.account(w)
        water = f.account(w, utility="water")
        schedule(w, unit=w.units[0])  # per unit: lands on the electricity account
        schedule(
            w,
            account=acc,
            kind="other",
            name="Deposit",
            amount=Decimal("50.00"),
            frequency="once",
            starts_on=date(2026, 3, 15),
        )
        schedule(
            w, account=acc, kind="rent", name="Rent", amount=Decimal("1000.00"), ends_on=date(2026, 2, 28)
        )
        out = actions.do_charge_fees(site=w.site, month=date(2026, 3, 1), actor=world.admin)
        assert sorted(c.amount for c in out) == [Decimal("50.00"), Decimal("120.00")]
        assert ledger.balance_of(acc) == Decimal("-170.00") and ledger.balance_of(water) == 0
        again = actions.do_charge_fees(site=w.site, month=date(2026, 3, 1), actor=world.admin)
        assert again == [] and LedgerEntry.objects.count() == 2
        april = actions.do_charge_fees(site=w.site, month=date(2026, 4, 1), actor=world.admin)
        assert [c.amount for c in april] == [Decimal("120.00")]
        assert FeeCharge.objects.count() == 3

    def test_it_refuses_the_wrong_role_and_an_outsider(self, world: Any) -> None:
        refused(
            "forbidden", actions.do_charge_fees, site=world.a1.site, month=date(2026, 3, 1), actor=world.clerk
        )
        refused(
            "forbidden",
            actions.do_charge_fees,
            site=world.a1.site,
            month=date(2026, 3, 1),
            actor=world.clerk_b,
        )
