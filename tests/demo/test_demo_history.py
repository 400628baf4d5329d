"""The demo starts as a site that has traded for a day: every account funded through real sales at a
real shift, the documented examples low on credit or in arrears, and nobody cut off by the first
billing pass after the simulated meters are read."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from prepay.billing import jobs
from prepay.billing.models import SupplyState
from prepay.customers.choices import AccountMode
from prepay.customers.models import Account
from prepay.demo.data import example_accounts, load_demo
from prepay.meters.models import Installation
from prepay.notify.models import Notification
from prepay.simulator.clock import ManualClock
from prepay.simulator.demo import build_demo_fleet
from prepay.simulator.fleet import FleetThread
from prepay.telemetry.models import CommandKind, MeterCommand, MeterReading
from prepay.telemetry.poller import Poller
from prepay.vending.ledger import balance_of
from prepay.vending.models import Shift, ShiftStatus, Vend

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def first_pass(db, tmp_path, clock):
    """The demo data, then an hour of simulated use read by one poll cycle, then one billing pass."""
    load_demo(tmp_path)
    sim = ManualClock(timezone.now())
    fleet, _pairs = build_demo_fleet(sim)
    clock.shift(timedelta(minutes=1))
    sim.advance(timedelta(hours=1))
    with FleetThread(fleet), Poller(timeout=2.0) as poller:
        poller.cycle()
    jobs.tick("test")
    return example_accounts()


class DemoHistoryTestCase:
    def test_it_funds_every_account_through_a_sale_at_a_cashed_up_shift(self, db, tmp_path, clock):
        load_demo(tmp_path)
        shifts = Shift.objects.all()
        assert shifts.count() == 2 and not shifts.exclude(status=ShiftStatus.CLOSED).exists()
        for shift in shifts:
            assert set(shift.difference.values()) == {"0.00"}
        for acc in Account.objects.all():
            assert Vend.objects.filter(account=acc, shift__isnull=False).count() == 1, acc.number
        remote = Account.objects.filter(mode=AccountMode.REMOTE)
        assert all(balance_of(acc) > 0 for acc in remote)
        assert not SupplyState.objects.exclude(cut="").exists()

    def test_it_cuts_nobody_and_warns_only_the_documented_accounts_after_a_billing_pass(self, first_pass):
        assert sorted(first_pass.values()) == ["arrears", "low_credit", "low_credit"]
        assert not SupplyState.objects.exclude(cut="").exists()
        assert not MeterCommand.objects.filter(kind=CommandKind.TRIP).exists()
        low = {n for n, role in first_pass.items() if role == "low_credit"}
        assert set(Notification.objects.values_list("account__number", flat=True)) == low
        assert set(Notification.objects.values_list("key", flat=True)) == {"level1"}
        assert (
            set(SupplyState.objects.exclude(level="normal").values_list("account__number", flat=True)) == low
        )
        # the home in arrears owes its fee and keeps its supply (local control: the meter holds credit)
        arrears = Account.objects.get(number=next(n for n, role in first_pass.items() if role == "arrears"))
        assert arrears.mode == AccountMode.LOCAL and balance_of(arrears) == Decimal("-128.50")
        # README.md names the example accounts by number
        for number in first_pass:
            assert number in README.read_text(), number

    def test_it_reads_meters_that_agree_with_the_sales(self, first_pass):
        for inst in Installation.objects.filter(ended_at__isnull=True).select_related("meter", "account"):
            reading = MeterReading.objects.filter(meter=inst.meter).latest("read_at")
            used = reading.register - inst.opening_reading
            assert Decimal("0") < used < Decimal("50"), inst.meter.serial  # an hour's use, not a jump
            if inst.account.mode == AccountMode.LOCAL and reading.balance is not None:
                # the meter holds what was sold for it less what it measured (both shown to 0.01)
                units = sum(v.register_units for v in Vend.objects.filter(meter=inst.meter))
                assert abs(reading.balance - (units - used)) <= Decimal("0.01"), inst.meter.serial
            if inst.account.mode == AccountMode.REMOTE:
                assert inst.account.charges.exists(), inst.account.number
