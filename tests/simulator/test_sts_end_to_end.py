"""A token vended by the system is accepted by the simulated meter once, rejected the second time;
and the meter's new credit is read back by the poller over DL/T 645."""

from __future__ import annotations

from decimal import Decimal

import pytest

from prepay.telemetry.actions import poll_once
from prepay.telemetry.models import MeterReading
from prepay.tokens import actions as t
from tests import factories as f
from tests.telemetry.conftest import make_sim  # noqa: F401 - fixture
from tests.tokens.conftest import CTSA01_VK, store  # noqa: F401 - fixture


@pytest.fixture
def sts_meter(world, store):  # noqa: F811
    t.do_import_vending_keys(
        group=world.a1.group,
        actor=world.admin,
        rows=[
            {
                "label": "utility VUDK",
                "dkga": "02",
                "supply_group_code": "123456",
                "key_revision": 1,
                "key_type": 2,
                "key": CTSA01_VK,
            }
        ],
    )
    return f.meter(
        world.a1, drn="00000000000", supply_group_code="123456", tariff_index="01", key_revision=1, key_type=2
    )


class TestStsEndToEnd:
    def test_a_vended_token_is_accepted_once_and_rejected_the_second_time(self, world, sts_meter, make_sim):  # noqa: F811
        sim = make_sim([(sts_meter, "dlt645")], credit=Decimal("10"))
        vm = sim.vm(sts_meter)
        assert vm.decoder is not None
        issued = t.do_issue_credit_token(
            meter=sts_meter, amount=Decimal("25.5"), actor=world.cashier, reason="vend"
        )
        first = vm.enter_token(issued.token)
        assert first.accepted and first.code == "accepted"
        assert vm.credit == Decimal("35.5")
        second = vm.enter_token(issued.token)
        assert not second.accepted and second.code == "used"
        assert vm.credit == Decimal("35.5")
        poll_once([sts_meter])
        assert MeterReading.objects.get(meter=sts_meter).balance == Decimal("35.50")

    def test_a_token_for_another_meter_is_refused(self, world, sts_meter, make_sim):  # noqa: F811
        other = f.meter(
            world.a1,
            drn="00000000018",
            supply_group_code="123456",
            tariff_index="01",
            key_revision=1,
            key_type=2,
        )
        sim = make_sim([(sts_meter, "dlt645")], credit=Decimal("10"))
        issued = t.do_issue_credit_token(meter=other, amount=Decimal("5"), actor=world.cashier, reason="vend")
        assert sim.vm(sts_meter).enter_token(issued.token).code == "crc"
        assert sim.vm(sts_meter).credit == Decimal("10")
