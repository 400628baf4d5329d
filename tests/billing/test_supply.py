"""Warnings and cut-off on a remote-control account: notifications, relay commands, restore, 保电."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from prepay.audit.models import AuditEvent
from prepay.billing import actions
from prepay.billing.models import BillingSettings, SupplyState, WarningPolicy
from prepay.customers.models import Account
from prepay.notify.models import Notification
from prepay.telemetry.models import MeterCommand
from tests.billing.conftest import at, meter_of, pay, read, remote_account
from tests.helpers import refused


def charge(acc: Any) -> None:
    with transaction.atomic():
        actions.charge_and_evaluate(Account.objects.select_for_update().get(pk=acc.pk))


def credited(acc: Any, amount: str, key: str) -> None:
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(pk=acc.pk)
        entry = pay(locked, amount, key)
        actions.on_account_credited(account=locked, entry=entry)


def commands(acc: Any) -> list[str]:
    return list(
        MeterCommand.objects.filter(meter=meter_of(acc)).order_by("pk").values_list("kind", flat=True)
    )


def levels(acc: Any) -> list[str]:
    return list(Notification.objects.filter(account=acc).order_by("pk").values_list("key", flat=True))


class SupplyRuleTestCase:
    def test_it_warns_cuts_once_restores_and_cuts_at_zero(self, world: Any) -> None:
        acc = remote_account(world.a1)  # flat 0.588/kWh; defaults: level 1 ¥20, level 2 ¥5
        m = meter_of(acc)
        pay(acc, "30.00", "p1")
        read(m, at(2026, 3, 2), "20")  # 11.76 used → 18.24 left
        charge(acc)
        assert levels(acc) == ["level1"] and commands(acc) == []
        read(m, at(2026, 3, 3), "45")  # 26.46 used → 3.54
        charge(acc)
        assert levels(acc) == ["level1", "level2"] and commands(acc) == ["trip"]
        read(m, at(2026, 3, 3, 1), "46")
        charge(acc)
        assert commands(acc) == ["trip"]  # held; never a second reminder
        actions.do_restore_supply(account=acc, actor=world.clerk)
        assert commands(acc) == ["trip", "close"]
        read(m, at(2026, 3, 3, 2), "47")
        charge(acc)
        assert commands(acc) == ["trip", "close"]
        read(m, at(2026, 3, 4), "60")  # below zero
        charge(acc)
        assert levels(acc) == ["level1", "level2", "zero"] and commands(acc) == ["trip", "close", "trip"]
        refused("cut_until_payment", actions.do_restore_supply, account=acc, actor=world.clerk)
        credited(acc, "100.00", "p2")
        assert commands(acc) == ["trip", "close", "trip", "close"]
        assert SupplyState.objects.get(account=acc).level == "normal"
        assert AuditEvent.objects.filter(verb="supply.trip").count() == 2

    def test_it_uses_the_account_policy_before_the_site_settings(self, world: Any) -> None:
        acc = remote_account(world.a1)
        BillingSettings.objects.create(site=world.a1.site, level1=Decimal("100"), level2=Decimal("50"))
        pay(acc, "90.00", "p1")
        read(meter_of(acc), at(2026, 3, 2), "1")
        charge(acc)
        assert levels(acc) == ["level1"]
        acc2 = remote_account(world.a1, unit=world.a1.units[1])
        WarningPolicy.objects.create(
            group=world.a1.group, account=acc2, level1=Decimal("10"), level2=Decimal("2")
        )
        pay(acc2, "90.00", "p2")
        read(meter_of(acc2), at(2026, 3, 2), "1")
        charge(acc2)
        assert levels(acc2) == []

    def test_it_cuts_a_local_account_on_fee_arrears_when_the_site_says_so(self, world: Any) -> None:
        from tests import factories as f

        acc = f.account(world.a1, meter_=f.meter(world.a1))
        BillingSettings.objects.create(site=world.a1.site, cut_on_fee_arrears=True)
        from prepay.billing.models import FeeSchedule

        FeeSchedule.objects.create(
            site=world.a1.site,
            account=acc,
            kind="rent",
            name="Rent",
            amount=Decimal("800"),
            frequency="monthly",
            starts_on=at(2026, 1, 1).date(),
        )
        actions.do_charge_fees(site=world.a1.site, month=at(2026, 3, 1).date(), actor=world.admin)
        assert commands(acc) == ["trip"] and SupplyState.objects.get(account=acc).cut == "fees"
        credited(acc, "800.00", "rent")
        assert commands(acc) == ["trip", "close"]


class DoRestoreSupplyTestCase:
    def test_it_refuses_when_not_cut(self, world: Any) -> None:
        acc = remote_account(world.a1)
        refused("not_cut", actions.do_restore_supply, account=acc, actor=world.clerk)

    def test_it_refuses_the_wrong_role_and_an_outsider(self, world: Any) -> None:
        acc = remote_account(world.a1)
        refused("forbidden", actions.do_restore_supply, account=acc, actor=world.cashier)
        refused("forbidden", actions.do_restore_supply, account=acc, actor=world.clerk_a2)


class DoProtectSupplyTestCase:
    def test_it_holds_back_cut_off_and_closes_a_cut_relay(self, world: Any) -> None:
        acc = remote_account(world.a1)
        read(meter_of(acc), at(2026, 3, 2), "10")
        charge(acc)  # balance −5.88: cut
        assert commands(acc) == ["trip"]
        now = timezone.now()
        prot = actions.do_protect_supply(
            account=acc,
            starts_at=now - timedelta(minutes=1),
            ends_at=now + timedelta(days=1),
            reason="hospital ward",
            actor=world.clerk,
        )
        assert commands(acc) == ["trip", "close"]
        read(meter_of(acc), at(2026, 3, 3), "20")
        charge(acc)
        assert commands(acc) == ["trip", "close"] and SupplyState.objects.get(account=acc).suppressed
        actions.do_end_protected_supply(protection=prot, actor=world.clerk)
        assert commands(acc) == ["trip", "close", "trip"]
        assert AuditEvent.objects.filter(verb__in=["supply.protect", "supply.unprotect"]).count() == 2
        refused("not_active", actions.do_end_protected_supply, protection=prot, actor=world.clerk)

    def test_it_refuses_bad_windows_and_reasons(self, world: Any) -> None:
        acc = remote_account(world.a1)
        now = timezone.now()
        ok = {
            "account": acc,
            "starts_at": now,
            "ends_at": now + timedelta(hours=2),
            "reason": "night",
            "actor": world.clerk,
        }
        refused("reason_required", actions.do_protect_supply, **{**ok, "reason": "  "})
        refused("bad_window", actions.do_protect_supply, **{**ok, "ends_at": now - timedelta(hours=1)})
        refused(
            "bad_window",
            actions.do_protect_supply,
            **{**ok, "starts_at": now - timedelta(hours=3), "ends_at": now - timedelta(hours=2)},
        )
        refused("too_long", actions.do_protect_supply, **{**ok, "ends_at": now + timedelta(days=400)})
        refused("forbidden", actions.do_protect_supply, **{**ok, "actor": world.cashier})
        refused("forbidden", actions.do_protect_supply, **{**ok, "actor": world.clerk_b})
