"""An IC-card image written by a vend at the counter loads into the simulated card meter once."""

from __future__ import annotations

from decimal import Decimal

from prepay.meters.models import MeterModel
from prepay.vending.actions import do_vend
from tests import factories as f
from tests.telemetry.conftest import make_sim  # noqa: F401 - fixture
from tests.vending.conftest import shop, store  # noqa: F401 - fixtures


class TestCardEndToEnd:
    def test_a_vended_card_loads_once_and_another_meter_refuses_it(self, shop, make_sim):  # noqa: F811
        model = MeterModel.objects.create(
            group=shop.world.a1.group,
            code="cardm",
            name="Card meter",
            kind="single_phase",
            token_system="none",
            has_keypad=False,
            has_ic_card=True,
        )
        meter, other = f.meter(shop.world.a1, model), f.meter(shop.world.a1, model)
        account = f.account(shop.world.a1, meter_=meter)
        f.account(shop.world.a1, unit=shop.world.a1.units[1], meter_=other)
        sim = make_sim([(meter, "dlt645"), (other, "dlt645")], credit=Decimal("10"))
        vend = do_vend(
            account=account,
            actor=shop.world.cashier,
            point=shop.point,
            amount="20.00",
            idempotency_key="card-1",
        )
        image = bytes.fromhex(vend.card.image)
        vm = sim.vm(meter)
        first = vm.insert_card(image)
        assert first.accepted and vm.credit == Decimal("10") + vend.register_units
        assert vm.insert_card(image).code == "used"
        assert vm.credit == Decimal("10") + vend.register_units
        assert sim.vm(other).insert_card(image).code == "wrong_meter"
