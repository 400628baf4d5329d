"""Two-stage low-credit levels in energy per meter kind (12 kWh single-phase, 36 kWh three-phase), priced
at the account's tariff when the rule runs: flat, tiered (from the cycle position) and time-of-use (the
day's time-weighted average); set in the back office per meter kind."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from prepay.billing import actions, supply
from prepay.billing.models import WarningPolicy
from prepay.customers.models import Account
from prepay.domain import warnings as rule
from prepay.domain.tariffs import Tariff
from prepay.notify.models import Notification
from prepay.telemetry.models import MeterCommand
from prepay.vending import ledger
from tests import factories as f
from tests.billing.conftest import at, pay, read, remote_account, tariff

D = Decimal
TIERED = {"blocks": [{"upto": "200", "price": "0.5"}, {"upto": None, "price": "0.8"}], "cycle": "month"}
TOU = {
    "prices": {"peak": "1.0", "valley": "0.4"},
    "schedules": {
        "workday": [["00:00", "08:00", "valley"], ["08:00", "24:00", "peak"]],
        "weekend": [["00:00", "24:00", "valley"]],
    },
}


def engine(kind: str, definition: dict[str, Any], price: str = "1") -> Tariff:
    return Tariff.from_record(kind=kind, unit_price=D(price), definition=definition, utility="electricity")


def energy_policy(w: f.SiteWorld, kind: str, l1: str, l2: str, **kw: Any) -> WarningPolicy:
    return WarningPolicy.objects.create(
        group=w.group, meter_kind=kind, unit="energy", level1=D(l1), level2=D(l2), **kw
    )


def charge(acc: Account) -> None:
    with transaction.atomic():
        actions.charge_and_evaluate(Account.objects.select_for_update().get(pk=acc.pk))


class MoneyForEnergyTestCase:
    def test_it_prices_flat_energy_at_the_unit_price(self):
        flat = engine("flat", {}, "0.5880")
        assert rule.money_for_energy(flat, D("12"), day=date(2026, 3, 10)) == D("7.06")

    def test_it_prices_tiers_from_the_cycle_position(self):
        tiered = engine("tiered", TIERED)
        assert rule.money_for_energy(tiered, D("12"), day=date(2026, 3, 10)) == D("6.00")
        # 195 kWh used this month: 5 kWh at 0.5, then 7 at 0.8
        assert rule.money_for_energy(tiered, D("12"), day=date(2026, 3, 10), used_in_cycle=D("195")) == D(
            "8.10"
        )

    def test_it_prices_time_of_use_at_the_days_time_weighted_average(self):
        tou = engine("tou", TOU)
        # 8 h valley at 0.4, 16 h peak at 1.0: 12 kWh → 4 × 0.4 + 8 × 1.0
        assert rule.money_for_energy(tou, D("12"), day=date(2026, 3, 10)) == D("9.60")
        # a Saturday is all valley: the day's own schedule, never the price of the hour
        assert rule.money_for_energy(tou, D("12"), day=date(2026, 3, 14)) == D("4.80")

    def test_it_refuses_energy_levels_that_do_not_fall(self):
        flat = engine("flat", {}, "0.5")
        t = rule.energy_thresholds(D("36"), D("12"), D("0"), flat, day=date(2026, 3, 10))
        assert (t.level1, t.level2, t.cutoff) == (D("18.00"), D("6.00"), D("0"))
        with pytest.raises(rule.WarningError):
            rule.energy_thresholds(D("12"), D("36"), D("0"), flat, day=date(2026, 3, 10))
        with pytest.raises(rule.WarningError):
            rule.energy_thresholds(D("12"), D("0"), D("0"), flat, day=date(2026, 3, 10))


class EnergyLevelsTestCase:
    def test_it_uses_12_kwh_for_single_phase_and_36_kwh_for_three_phase_meters(self, world):
        w = world.a1
        energy_policy(w, "single_phase", "12", "4")
        energy_policy(w, "three_phase", "36", "12")
        single = remote_account(w)  # flat ¥0.588/kWh
        three = remote_account(w, meter=f.meter(w, w.three))
        assert supply.thresholds(single) == rule.Thresholds(D("7.06"), D("2.35"), D("0"))
        assert supply.thresholds(three) == rule.Thresholds(D("21.17"), D("7.06"), D("0"))

    def test_it_warns_by_energy_left_at_the_accounts_tier_position(self, world, clock):
        clock.move_to(at(2026, 3, 10, 12))
        w = world.a1
        acc = remote_account(w, opening="0", tariff=tariff(w, "tier", "tiered", TIERED))
        energy_policy(w, "single_phase", "12", "4")
        pay(acc, "105.50", "p1")
        read(acc.installations.get().meter, at(2026, 3, 9), "195")
        charge(acc)  # 195 kWh × ¥0.5 = ¥97.50 → ¥8.00 left; the next kWh are in the ¥0.8 tier
        assert ledger.balance_of(acc) == D("8.00")
        assert supply.thresholds(acc) == rule.Thresholds(D("8.10"), D("2.00"), D("0"))  # 5×0.5 + 7×0.8
        assert list(Notification.objects.filter(account=acc).values_list("key", flat=True)) == ["level1"]
        assert not MeterCommand.objects.exists()
        read(acc.installations.get().meter, at(2026, 3, 10), "202")  # 7 kWh more: ¥2.50 + ¥1.60 = ¥4.10
        charge(acc)  # ¥3.90 left: above 4 kWh's ¥3.20 at the new position (¥0.8 tier)
        assert supply.thresholds(acc).level2 == D("3.20")
        assert not MeterCommand.objects.exists()
        read(acc.installations.get().meter, at(2026, 3, 10, 6), "203")  # ¥3.10 left: level 2
        charge(acc)
        assert list(MeterCommand.objects.values_list("kind", flat=True)) == ["trip"]  # the reminder cut

    def test_it_prefers_the_most_specific_policy(self, world):
        w = world.a1
        acc = remote_account(w)
        energy_policy(w, "single_phase", "12", "4")  # group-wide, kind
        energy_policy(w, "single_phase", "20", "5", site=w.site)  # at the site, kind
        assert supply.thresholds(acc).level1 == D("11.76")
        WarningPolicy.objects.create(  # at the site, customer type and kind
            group=w.group,
            site=w.site,
            customer_type=w.ctype,
            meter_kind="single_phase",
            level1=D("30"),
            level2=D("10"),
        )
        assert supply.thresholds(acc) == rule.Thresholds(D("30"), D("10"), D("0"))
        WarningPolicy.objects.create(
            group=w.group, account=acc, unit="energy", level1=D("50"), level2=D("25")
        )
        assert supply.thresholds(acc).level1 == D("29.40")

    def test_it_leaves_other_kinds_and_sites_alone(self, world):
        energy_policy(world.a1, "water", "5", "2")
        WarningPolicy.objects.create(
            group=world.a1.group,
            site=world.a2.site,
            meter_kind="single_phase",
            level1=D("99"),
            level2=D("50"),
        )
        assert supply.thresholds(remote_account(world.a1)) == supply.DEFAULTS

    def test_it_falls_back_when_energy_cannot_be_priced(self, world):
        w = world.a1
        acc = remote_account(w, tariff=tariff(w, "later", "flat", {}, "0.6", effective_from=date(2099, 1, 1)))
        energy_policy(w, "single_phase", "12", "4")
        assert supply.thresholds(acc) == supply.DEFAULTS  # the site's money levels


class WarningPolicyBackOfficeTestCase:
    URL = "/admin/billing/warningpolicy/add/"

    def data(self, w: f.SiteWorld, **kw: Any) -> dict[str, Any]:
        base = {
            "group": w.group.pk,
            "site": w.site.pk,
            "customer_type": "",
            "account": "",
            "meter_kind": "three_phase",
            "unit": "energy",
            "level1": "36",
            "level2": "12",
            "overdraft": "0",
        }
        return base | kw

    def test_it_lets_an_admin_set_energy_levels_per_meter_kind(self, client, world):
        client.force_login(world.admin)
        response = client.post(self.URL, self.data(world.a1))
        assert response.status_code == 302, response.context["adminform"].form.errors
        p = WarningPolicy.objects.get()
        assert (p.meter_kind, p.unit, p.level1, p.level2, p.site) == (
            "three_phase",
            "energy",
            D("36"),
            D("12"),
            world.a1.site,
        )

    @pytest.mark.parametrize(
        ("change", "says"),
        [
            ({"level2": "0"}, "level 2 above 0"),
            ({"level1": "10", "level2": "12"}, "Energy levels must fall"),
            ({"unit": "money", "level1": "5", "level2": "10"}, "Warning levels must fall"),
            ({"meter_kind": ""}, "Choose an account, a customer type or a meter kind"),
        ],
    )
    def test_it_refuses_levels_that_make_no_sense(self, client, world, change, says):
        client.force_login(world.admin)
        response = client.post(self.URL, self.data(world.a1, **change))
        assert response.status_code == 200 and says in response.content.decode()
        assert not WarningPolicy.objects.exists()

    def test_it_refuses_a_cashier(self, client, world):
        client.force_login(world.cashier)
        assert client.post(self.URL, self.data(world.a1)).status_code == 403
        assert not WarningPolicy.objects.exists()

    def test_it_refuses_a_site_the_clerk_does_not_work_at(self, client, world):
        client.force_login(world.clerk_b)
        response = client.post(self.URL, self.data(world.a1))
        assert response.status_code in (200, 403)
        assert not WarningPolicy.objects.exists()
