from __future__ import annotations

from decimal import Decimal

import pytest

from prepay.audit.models import AuditEvent
from prepay.customers.choices import AccountStatus, Utility
from prepay.meters import actions as m
from prepay.meters.choices import MeterStatus
from prepay.meters.models import Installation, Meter
from tests import factories as f
from tests.helpers import refused


class RegisterMeterTestCase:
    def test_it_puts_a_meter_in_stock_with_sts_parameters(self, world):
        meter = m.do_register_meter(
            site=world.a1.site,
            serial="47000012345",
            model=world.a1.three,
            ct_ratio=50,
            pt_ratio=1,
            drn="47000012345",
            supply_group_code="123456",
            tariff_index="01",
            actor=world.clerk,
        )
        assert (meter.status, meter.multiplier, meter.group) == (MeterStatus.IN_STOCK, 50, world.a1.group)
        assert AuditEvent.objects.get(verb="meter.register").after["ct_ratio"] == 50

    @pytest.mark.parametrize("ct,pt", [(0, 1), (1, 0), (-5, 1), ("50", 1)])
    def test_it_refuses_a_ratio_below_one(self, world, ct, pt):
        refused(
            "invalid_ratio",
            m.do_register_meter,
            site=world.a1.site,
            serial="X1",
            model=world.a1.three,
            ct_ratio=ct,
            pt_ratio=pt,
            actor=world.clerk,
        )

    def test_it_refuses_a_duplicate_serial_and_a_foreign_model(self, world):
        refused(
            "duplicate",
            m.do_register_meter,
            site=world.a1.site,
            serial=world.a1.meters[0].serial,
            model=world.a1.single,
            actor=world.clerk,
        )
        refused(
            "wrong_group",
            m.do_register_meter,
            site=world.a1.site,
            serial="X2",
            model=world.b1.single,
            actor=world.clerk,
        )

    def test_it_refuses_bad_sts_parameters_and_unknown_fields(self, world):
        refused(
            "invalid",
            m.do_register_meter,
            site=world.a1.site,
            serial="X3",
            model=world.a1.single,
            supply_group_code="12AB56",
            actor=world.clerk,
        )
        refused(
            "invalid",
            m.do_register_meter,
            site=world.a1.site,
            serial="X4",
            model=world.a1.single,
            key_revision=12,
            actor=world.clerk,
        )
        refused(
            "invalid",
            m.do_register_meter,
            site=world.a1.site,
            serial="X5",
            model=world.a1.single,
            colour="red",
            actor=world.clerk,
        )

    @pytest.mark.parametrize("who", ["cashier", "finance", "auditor", "clerk_a2", "clerk_b"])
    def test_it_refuses_wrong_roles_and_outsiders(self, world, who):
        refused(
            "forbidden",
            m.do_register_meter,
            site=world.a1.site,
            serial="X6",
            model=world.a1.single,
            actor=getattr(world, who),
        )


class SetRatiosTestCase:
    def test_it_changes_ratios_of_a_meter_in_stock(self, world):
        meter = m.do_set_meter_ratios(meter=world.a1.meters[0], ct_ratio=200, pt_ratio=10, actor=world.admin)
        assert meter.multiplier == 2000

    def test_it_refuses_zero_and_installed_meters(self, world):
        refused(
            "invalid_ratio",
            m.do_set_meter_ratios,
            meter=world.a1.meters[0],
            ct_ratio=0,
            pt_ratio=1,
            actor=world.clerk,
        )
        f.account(world.a1, meter_=world.a1.meters[1])
        refused(
            "installed",
            m.do_set_meter_ratios,
            meter=world.a1.meters[1],
            ct_ratio=5,
            pt_ratio=1,
            actor=world.clerk,
        )


class AssignMeterTestCase:
    def test_it_installs_a_stock_meter(self, world):
        acc = f.account(world.a1)
        meter = world.a1.meters[0]
        inst = m.do_assign_meter(account=acc, meter=meter, opening_reading=Decimal("12.5"), actor=world.clerk)
        meter.refresh_from_db()
        assert meter.status == MeterStatus.INSTALLED
        assert (inst.unit, inst.opening_reading, inst.ended_at) == (acc.unit, Decimal("12.500"), None)
        assert AuditEvent.objects.get(verb="meter.assign").after["account"] == acc.number

    def test_it_refuses_a_meter_installed_twice(self, world):
        meter = world.a1.meters[0]
        f.account(world.a1, meter_=meter)
        other = f.account(world.a1, unit=world.a1.units[1])
        refused(
            "already_installed",
            m.do_assign_meter,
            account=other,
            meter=meter,
            opening_reading=Decimal("0"),
            actor=world.clerk,
        )

    def test_it_refuses_a_second_meter_on_one_account(self, world):
        acc = f.account(world.a1, meter_=world.a1.meters[0])
        refused(
            "has_meter",
            m.do_assign_meter,
            account=acc,
            meter=world.a1.meters[1],
            opening_reading=Decimal("0"),
            actor=world.clerk,
        )

    def test_it_refuses_faulty_meters_closed_accounts_and_wrong_kinds(self, world):
        meter = world.a1.meters[0]
        Meter.objects.filter(pk=meter.pk).update(status=MeterStatus.FAULTY)
        acc = f.account(world.a1)
        refused(
            "not_in_stock",
            m.do_assign_meter,
            account=acc,
            meter=meter,
            opening_reading=Decimal("0"),
            actor=world.clerk,
        )
        closed = f.account(world.a1, unit=world.a1.units[1], status=AccountStatus.CLOSED)
        refused(
            "account_not_open",
            m.do_assign_meter,
            account=closed,
            meter=world.a1.meters[1],
            opening_reading=Decimal("0"),
            actor=world.clerk,
        )
        water = f.account(world.a1, unit=world.a1.units[2], utility=Utility.WATER)
        refused(
            "wrong_kind",
            m.do_assign_meter,
            account=water,
            meter=world.a1.meters[1],
            opening_reading=Decimal("0"),
            actor=world.clerk,
        )

    def test_it_refuses_a_meter_of_another_site_and_a_negative_reading(self, world):
        acc = f.account(world.a1)
        refused(
            "wrong_site",
            m.do_assign_meter,
            account=acc,
            meter=world.a2.meters[0],
            opening_reading=Decimal("0"),
            actor=world.clerk,
        )
        refused(
            "invalid",
            m.do_assign_meter,
            account=acc,
            meter=world.a1.meters[0],
            opening_reading=Decimal("-1"),
            actor=world.clerk,
        )

    @pytest.mark.parametrize("who", ["cashier", "admin", "clerk_a2", "clerk_b"])
    def test_it_refuses_wrong_roles_and_outsiders(self, world, who):
        refused(
            "forbidden",
            m.do_assign_meter,
            account=f.account(world.a1),
            meter=world.a1.meters[0],
            opening_reading=Decimal("0"),
            actor=getattr(world, who),
        )


class ReplaceMeterTestCase:
    def test_it_carries_credit_and_readings_over(self, world):
        old, new = world.a1.meters[0], world.a1.meters[1]
        acc = f.account(world.a1, meter_=old)
        inst = m.do_replace_meter(
            account=acc,
            new_meter=new,
            old_closing_reading=Decimal("345.6"),
            remaining_credit=Decimal("23.4"),
            new_opening_reading=Decimal("0.1"),
            reason="display dead",
            actor=world.clerk,
        )
        old.refresh_from_db()
        new.refresh_from_db()
        assert (old.status, new.status) == (MeterStatus.FAULTY, MeterStatus.INSTALLED)
        ended = Installation.objects.get(meter=old)
        assert (ended.closing_reading, ended.credit_left, ended.end_reason) == (
            Decimal("345.600"),
            Decimal("23.400"),
            "display dead",
        )
        assert (inst.meter, inst.credit_carried_in, inst.opening_reading) == (
            new,
            Decimal("23.400"),
            Decimal("0.100"),
        )
        ev = AuditEvent.objects.get(verb="meter.replace")
        assert ev.after["new_meter"] == new.serial and ev.before["status"] == MeterStatus.INSTALLED

    def test_it_can_return_the_old_meter_to_stock(self, world):
        old = world.a1.meters[0]
        acc = f.account(world.a1, meter_=old)
        m.do_replace_meter(
            account=acc,
            new_meter=world.a1.meters[1],
            old_closing_reading=Decimal("100"),
            remaining_credit=Decimal("0"),
            new_opening_reading=Decimal("0"),
            old_meter_faulty=False,
            actor=world.clerk,
        )
        old.refresh_from_db()
        assert old.status == MeterStatus.IN_STOCK

    def test_it_refuses_a_closing_reading_below_the_opening_one(self, world):
        acc = f.account(world.a1, meter_=world.a1.meters[0])
        refused(
            "reading_backwards",
            m.do_replace_meter,
            account=acc,
            new_meter=world.a1.meters[1],
            old_closing_reading=Decimal("99"),
            remaining_credit=Decimal("0"),
            new_opening_reading=Decimal("0"),
            actor=world.clerk,
        )

    def test_it_refuses_without_a_current_meter_or_with_the_same_meter(self, world):
        refused(
            "no_meter",
            m.do_replace_meter,
            account=f.account(world.a1),
            new_meter=world.a1.meters[1],
            old_closing_reading=Decimal("1"),
            remaining_credit=Decimal("0"),
            new_opening_reading=Decimal("0"),
            actor=world.clerk,
        )
        acc = f.account(world.a1, unit=world.a1.units[1], meter_=world.a1.meters[0])
        refused(
            "same_meter",
            m.do_replace_meter,
            account=acc,
            new_meter=world.a1.meters[0],
            old_closing_reading=Decimal("101"),
            remaining_credit=Decimal("0"),
            new_opening_reading=Decimal("0"),
            actor=world.clerk,
        )

    def test_it_refuses_negative_credit_and_an_installed_new_meter(self, world):
        acc = f.account(world.a1, meter_=world.a1.meters[0])
        refused(
            "invalid",
            m.do_replace_meter,
            account=acc,
            new_meter=world.a1.meters[1],
            old_closing_reading=Decimal("101"),
            remaining_credit=Decimal("-1"),
            new_opening_reading=Decimal("0"),
            actor=world.clerk,
        )
        f.account(world.a1, unit=world.a1.units[1], meter_=world.a1.meters[2])
        refused(
            "already_installed",
            m.do_replace_meter,
            account=acc,
            new_meter=world.a1.meters[2],
            old_closing_reading=Decimal("101"),
            remaining_credit=Decimal("0"),
            new_opening_reading=Decimal("0"),
            actor=world.clerk,
        )

    @pytest.mark.parametrize("who", ["cashier", "finance", "clerk_a2", "clerk_b"])
    def test_it_refuses_wrong_roles_and_outsiders(self, world, who):
        acc = f.account(world.a1, meter_=world.a1.meters[0])
        refused(
            "forbidden",
            m.do_replace_meter,
            account=acc,
            new_meter=world.a1.meters[1],
            old_closing_reading=Decimal("101"),
            remaining_credit=Decimal("0"),
            new_opening_reading=Decimal("0"),
            actor=getattr(world, who),
        )


class MeterStockTestCase:
    def test_it_marks_faulty_returns_to_stock_and_retires(self, world):
        meter = world.a1.meters[0]
        m.do_mark_meter_faulty(meter=meter, reason="relay stuck", actor=world.clerk)
        assert Meter.objects.get(pk=meter.pk).status == MeterStatus.FAULTY
        m.do_return_meter_to_stock(meter=meter, reason="repaired", actor=world.admin)
        assert Meter.objects.get(pk=meter.pk).status == MeterStatus.IN_STOCK
        m.do_retire_meter(meter=meter, reason="end of life", actor=world.clerk)
        assert Meter.objects.get(pk=meter.pk).status == MeterStatus.RETIRED
        assert list(AuditEvent.objects.order_by("id").values_list("verb", flat=True)) == [
            "meter.faulty",
            "meter.to_stock",
            "meter.retire",
        ]

    def test_it_flags_an_installed_meter_faulty_but_keeps_it_installed(self, world):
        meter = world.a1.meters[0]
        f.account(world.a1, meter_=meter)
        m.do_mark_meter_faulty(meter=meter, reason="no display", actor=world.clerk)
        assert AuditEvent.objects.get(verb="meter.faulty").after["still_installed"] is True
        refused("installed", m.do_return_meter_to_stock, meter=meter, actor=world.clerk)
        refused("bad_status", m.do_retire_meter, meter=meter, reason="x", actor=world.clerk)

    def test_it_refuses_nonsense_transitions_and_missing_reasons(self, world):
        meter = world.a1.meters[0]
        refused("reason_required", m.do_mark_meter_faulty, meter=meter, reason="  ", actor=world.clerk)
        refused("bad_status", m.do_return_meter_to_stock, meter=meter, actor=world.clerk)
        refused("reason_required", m.do_retire_meter, meter=meter, reason="", actor=world.clerk)
        m.do_retire_meter(meter=meter, reason="scrap", actor=world.clerk)
        refused("bad_status", m.do_mark_meter_faulty, meter=meter, reason="x", actor=world.clerk)

    @pytest.mark.parametrize("who", ["cashier", "finance", "auditor", "clerk_a2", "clerk_b"])
    def test_it_refuses_wrong_roles_and_outsiders(self, world, who):
        refused(
            "forbidden",
            m.do_mark_meter_faulty,
            meter=world.a1.meters[0],
            reason="x",
            actor=getattr(world, who),
        )
