"""Water: m³ charged by yearly tiers per person, valve closed at zero and opened on payment."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from prepay.billing import actions
from prepay.billing.models import Household, TierBasis
from prepay.customers.models import Account
from prepay.telemetry.models import MeterCommand
from tests import factories as f
from tests.billing.conftest import at, meter_of, pay, read, remote_account, tariff

WATER_TIERS = {
    "cycle": "year",
    "blocks": [
        {"upto": "30", "price": "3.0000"},
        {"upto": "60", "price": "4.5000"},
        {"upto": None, "price": "9.0000"},
    ],
}


def charge(acc: Any) -> list[Any]:
    with transaction.atomic():
        return actions.charge_and_evaluate(Account.objects.select_for_update().get(pk=acc.pk))


class WaterTestCase:
    def test_it_scales_tiers_per_person(self, world: Any) -> None:
        w = world.a1
        t = tariff(w, "water-tiers", "tiered", WATER_TIERS, utility="water")
        TierBasis.objects.create(tariff=t, per_person=True)
        one = remote_account(w, meter=f.meter(w, w.water), utility="water", tariff=t)
        four = remote_account(w, meter=f.meter(w, w.water), utility="water", tariff=t, unit=w.units[1])
        Household.objects.create(account=four, persons=4)
        for acc in (one, four):
            read(meter_of(acc), at(2026, 6, 1), "100")
        [c1] = charge(one)
        [c4] = charge(four)
        assert c1.amount == Decimal("90") + Decimal("135") + Decimal("360")  # 30×3 + 30×4.5 + 40×9
        assert c4.amount == Decimal("300.00")  # 100 m³ inside the first tier of 120 for four people

    def test_it_closes_the_valve_at_zero_and_opens_it_on_payment(self, world: Any) -> None:
        w = world.a1
        acc = remote_account(w, meter=f.meter(w, w.water), utility="water")  # 3.50 / m³
        pay(acc, "10.00", "w1")
        read(meter_of(acc), at(2026, 3, 2), "3")
        charge(acc)  # −0.50
        with transaction.atomic():
            locked = Account.objects.select_for_update().get(pk=acc.pk)
            actions.on_account_credited(account=locked, entry=pay(locked, "50.00", "w2"))
        kinds = list(
            MeterCommand.objects.filter(meter=meter_of(acc)).order_by("pk").values_list("kind", flat=True)
        )
        assert kinds == ["trip", "close"]
