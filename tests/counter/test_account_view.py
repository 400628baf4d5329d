"""The customer view: one page per account; the consumption chart's data; scoping."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from prepay.meters.models import Installation
from prepay.telemetry.models import MeterLink, MeterReading, RelayState
from prepay.vending.actions import do_vend
from tests import factories as f
from tests.counter.conftest import client_for


def installed_since(account: Any, at: datetime) -> None:
    Installation.objects.filter(account=account).update(started_at=at)


def read(meter: Any, at: datetime, energy: str, **tou: str) -> MeterReading:
    return MeterReading.objects.create(
        meter=meter,
        read_at=at,
        register=Decimal(energy),
        energy=Decimal(energy),
        **{k: Decimal(v) for k, v in tou.items()},
    )


class AccountPageTestCase:
    def test_it_shows_everything_about_the_account(self, shop: Any) -> None:
        vend = do_vend(
            account=shop.account,
            actor=shop.world.cashier,
            point=shop.point,
            idempotency_key="v1",
            amount="30",
        )
        MeterLink.objects.create(meter=shop.meter, next_poll_at=timezone.now(), relay_state=RelayState.OPEN)
        c = client_for(shop.world.clerk)
        r = c.get(f"/counter/accounts/{shop.account.pk}/")
        html = r.content.decode()
        assert r.status_code == 200
        assert shop.account.number in html and shop.account.customer.name in html
        assert f'data-testid="installation-{shop.meter.serial}"' in html
        assert vend.receipt_no in html and str(vend.tokens.get()) in html
        assert 'id="relay-state"' in html and "Open (supply cut)" in html
        assert 'id="ledger-table"' in html and 'id="consumption-chart"' in html
        assert 'id="audit-trail"' in html and "vend.sell" in html
        assert 'id="tool-replace-meter"' in html and 'id="tool-sell"' not in html

    def test_it_gives_a_cashier_the_sell_button_but_not_the_clerk_tools_or_audit(self, shop: Any) -> None:
        html = client_for(shop.world.cashier).get(f"/counter/accounts/{shop.account.pk}/").content.decode()
        assert 'id="tool-sell"' in html and 'id="tool-close"' not in html and 'id="audit-trail"' not in html

    def test_it_pages_the_ledger(self, shop: Any) -> None:
        for i in range(3):
            do_vend(
                account=shop.account,
                actor=shop.world.cashier,
                point=shop.point,
                idempotency_key=f"p{i}",
                amount="10",
            )
        c = client_for(shop.world.clerk)
        html = c.get(f"/counter/accounts/{shop.account.pk}/", {"ledger-per_page": "2"}).content.decode()
        assert "ledger-page=2" in html

    def test_it_hides_another_sites_account(self, world: Any) -> None:
        acc = f.account(world.a1)
        for user in (world.clerk_a2, world.clerk_b):
            assert client_for(user).get(f"/counter/accounts/{acc.pk}/").status_code == 404
            assert client_for(user).get(f"/counter/accounts/{acc.pk}/consumption.json").status_code == 404

    def test_it_refuses_a_user_without_a_role(self, world: Any) -> None:
        acc = f.account(world.a1)
        assert client_for(f.user("nobody")).get(f"/counter/accounts/{acc.pk}/").status_code == 404

    def test_it_serves_the_page_in_chinese(self, world: Any) -> None:
        acc = f.account(world.a1)
        r = client_for(world.clerk, "zh-hans").get(f"/counter/accounts/{acc.pk}/")
        assert r.status_code == 200 and r["Content-Language"] == "zh-hans"


class ConsumptionTestCase:
    def test_it_sums_daily_use_split_by_tou_period(self, world: Any) -> None:
        meter = world.a1.meters[0]
        acc = f.account(world.a1, meter_=meter)
        day = timezone.localtime().replace(hour=1, minute=0, second=0, microsecond=0) - timedelta(days=2)
        installed_since(acc, day - timedelta(hours=1))
        read(meter, day, "100", peak="60", valley="40")
        read(meter, day + timedelta(hours=12), "110", peak="66", valley="44")  # +10: 6 peak, 4 valley
        read(meter, day + timedelta(days=1), "115", peak="66", valley="49")  # +5, all valley
        data = client_for(world.cashier).get(f"/counter/accounts/{acc.pk}/consumption.json").json()
        d1, d2 = day.strftime("%Y-%m-%d"), (day + timedelta(days=1)).strftime("%Y-%m-%d")
        assert data["buckets"] == [d1, d2]
        assert data["total"] == ["10.000", "5.000"]
        assert data["peak"] == ["6.000", "0.000"] and data["valley"] == ["4.000", "5.000"]
        assert data["sharp"] == [] and data["flat"] == []

    def test_it_sums_by_month_and_never_counts_a_drop(self, world: Any) -> None:
        meter = world.a1.meters[0]
        acc = f.account(world.a1, meter_=meter)
        start = timezone.localtime().replace(day=1, hour=12, minute=0, second=0, microsecond=0)
        installed_since(acc, start - timedelta(hours=1))
        read(meter, start, "500")
        read(meter, start + timedelta(hours=1), "490")  # backwards: not negative use
        read(meter, start + timedelta(hours=2), "497")
        data = client_for(world.clerk).get(f"/counter/accounts/{acc.pk}/consumption.json?period=month").json()
        assert data["period"] == "month" and data["buckets"] == [start.strftime("%Y-%m")]
        assert data["total"] == ["7.000"]

    def test_it_leaves_out_readings_from_before_the_meter_served_the_account(self, world: Any) -> None:
        meter = world.a1.meters[0]
        read(meter, timezone.now() - timedelta(days=3), "10")
        acc = f.account(world.a1, meter_=meter)
        read(meter, timezone.now() + timedelta(minutes=1), "50")
        data = client_for(world.clerk).get(f"/counter/accounts/{acc.pk}/consumption.json").json()
        assert data["buckets"] == []
