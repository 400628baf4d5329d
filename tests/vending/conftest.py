"""A vending counter ready to sell: an STS meter with its vending key, an account, an open shift."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from prepay.meters.models import MeterModel
from prepay.tokens import actions as t
from prepay.vending.actions import do_open_shift
from prepay.vending.models import PointKind, VendingPoint
from tests import factories as f
from tests.tokens.conftest import CTSA01_DK, CTSA01_VK, store

__all__ = ["CTSA01_DK", "Shop", "shop", "store"]


@dataclass
class Shop:
    world: Any
    point: VendingPoint
    agent: VendingPoint
    meter: Any
    account: Any
    shift: Any

    def sts_meter(self, **kw: Any) -> Any:
        defaults = {"drn": "00000000000", "supply_group_code": "123456", "tariff_index": "01"}
        return f.meter(self.world.a1, **(defaults | kw))

    def sts_account(self, meter_kw: dict[str, Any] | None = None, **kw: Any) -> Any:
        return f.account(self.world.a1, meter_=self.sts_meter(**(meter_kw or {})), **kw)

    def card_model(self) -> Any:
        """An IC-card meter model without keypad (credit goes on a card)."""
        return MeterModel.objects.get_or_create(
            group=self.world.a1.group,
            code="card",
            defaults={
                "name": "Card meter",
                "kind": "single_phase",
                "token_system": "none",
                "has_keypad": False,
                "has_ic_card": True,
            },
        )[0]

    def networked_model(self) -> Any:
        """A 4G meter model without keypad or card (credit is pushed remotely)."""
        return MeterModel.objects.get_or_create(
            group=self.world.a1.group,
            code="g4",
            defaults={
                "name": "4G meter",
                "kind": "single_phase",
                "token_system": "none",
                "has_keypad": False,
            },
        )[0]

    def card_account(self) -> Any:
        return f.account(self.world.a1, meter_=f.meter(self.world.a1, self.card_model()))

    def networked_account(self) -> Any:
        return f.account(
            self.world.a1, meter_=f.meter(self.world.a1, self.networked_model(), protocol="mqtt")
        )


@pytest.fixture
def shop(world, store) -> Shop:
    t.do_import_vending_keys(
        group=world.a1.group,
        actor=world.admin,
        rows=[
            {"dkga": "02", "supply_group_code": "123456", "key_revision": 1, "key_type": 2, "key": CTSA01_VK}
        ],
    )
    point = VendingPoint.objects.create(site=world.a1.site, code="c1", name="Counter 1")
    agent = VendingPoint.objects.create(
        site=world.a1.site, code="ag1", name="Corner shop", kind=PointKind.AGENT, uses_float=True
    )
    meter = f.meter(world.a1, drn="00000000000", supply_group_code="123456", tariff_index="01")
    account = f.account(world.a1, meter_=meter)
    shift = do_open_shift(point=point, actor=world.cashier)
    return Shop(world, point, agent, meter, account, shift)
