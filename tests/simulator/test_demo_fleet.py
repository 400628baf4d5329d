"""`make demo`'s simulated fleet covers every installed demo meter, over every protocol the demo uses."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from prepay.demo.data import load_demo
from prepay.meters.choices import MeterStatus, Protocol
from prepay.meters.models import Meter
from prepay.simulator.clock import ManualClock
from prepay.simulator.demo import build_demo_fleet
from prepay.simulator.fleet import FleetThread
from prepay.telemetry.models import MeterLink, MeterReading
from prepay.telemetry.poller import Poller


class DemoFleetTestCase:
    def test_it_binds_and_reads_every_installed_demo_meter_in_one_poll_cycle(self, db, tmp_path, clock):
        load_demo(tmp_path)
        installed = set(Meter.objects.filter(status=MeterStatus.INSTALLED).values_list("serial", flat=True))
        sim = ManualClock(timezone.now())
        fleet, pairs = build_demo_fleet(sim)
        assert {m.serial for m, _vm in pairs} == installed
        assert set(fleet.protocols.values()) == {Protocol.DLT645, Protocol.MODBUS_TCP, Protocol.CJT188}
        clock.shift(timedelta(minutes=1))
        sim.advance(timedelta(hours=1))
        with FleetThread(fleet), Poller(timeout=2.0) as poller:
            summary = poller.cycle()
        assert summary.claimed == summary.ok == len(installed) > 50
        assert set(MeterReading.objects.values_list("meter__serial", flat=True)) == installed
        links = MeterLink.objects.filter(meter__serial__in=installed)
        assert links.count() == len(installed) and not links.filter(online=False).exists()
        assert MeterReading.objects.filter(meter__site__code="techpark").count() == 18

    def test_it_starts_each_twin_where_the_database_left_its_meter(self, db, tmp_path, clock):
        load_demo(tmp_path)
        sim = ManualClock(timezone.now())
        fleet, pairs = build_demo_fleet(sim)
        clock.shift(timedelta(minutes=1))
        sim.advance(timedelta(hours=2))
        with FleetThread(fleet), Poller(timeout=2.0) as poller:
            poller.cycle()
        # the demo is started again: new twins carry on from the last readings and credit
        unstarted, again = build_demo_fleet(ManualClock(timezone.now()))
        unstarted.release_ports()
        before = {vm.serial: vm for _m, vm in pairs}
        for meter, vm in again:
            last = MeterReading.objects.filter(meter=meter).latest("read_at")
            assert vm.energy == last.register, meter.serial
            if vm.local_control:  # the credit left, to the register's last digit (0.01)
                assert abs(vm.credit - before[meter.serial].credit) <= Decimal("0.01"), meter.serial
                assert last.balance is None or vm.credit == last.balance, meter.serial
