"""The dashboard page, its data feed and the live vend monitor."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from prepay.telemetry.models import MeterLink, MeterReading
from tests.reports import builders as b

PAGE = reverse("reports:dashboard")
DATA = reverse("reports:dashboard-data")
LIVE = reverse("reports:live")


def link(meter, *, online=True, relay="closed"):
    return MeterLink.objects.create(
        meter=meter, next_poll_at=timezone.now(), online=online, relay_state=relay
    )


def reading(meter, balance):
    return MeterReading.objects.create(
        meter=meter,
        read_at=timezone.now(),
        register=Decimal("1"),
        energy=Decimal("1"),
        balance=Decimal(balance),
    )


@pytest.fixture
def fleet(sales):
    w = sales.world
    m1, m2, m3 = w.a1.meters
    link(m1, online=False)
    link(m2, relay="open")
    reading(m3, "5.00")  # below the 12 kWh single-phase alarm level
    reading(w.a1.meters[0], "50.00")
    link(w.b1.meters[1], online=False)  # another group
    reading(w.a2.meters[1], "3.00")  # another site of group A
    return sales


class DashboardPageTestCase:
    def test_it_shows_meter_health_of_the_users_sites(self, client, fleet):
        client.force_login(fleet.world.auditor)  # A1 only
        page = client.get(PAGE)
        assert page.status_code == 200
        health = page.context["health"]
        assert health["offline"]["count"] == 1 and health["offline"]["items"][0]["site"] == "Site a1"
        assert [m["serial"] for m in health["cut_off"]["items"]] == [fleet.world.a1.meters[1].serial]
        assert [m["serial"] for m in health["low_credit"]["items"]] == [fleet.world.a1.meters[2].serial]
        html = page.content.decode()
        assert "vendor/echarts/echarts.min.js" in html and "js/dashboard.js" in html
        assert 'id="panel-suspicious"' in html

    def test_it_counts_group_wide_for_finance(self, client, fleet):
        client.force_login(fleet.world.finance)
        health = client.get(PAGE).context["health"]
        assert health["low_credit"]["count"] == 2 and health["offline"]["count"] == 1

    @pytest.mark.parametrize("url", [PAGE, DATA, LIVE])
    def test_it_refuses_a_cashier(self, client, fleet, url):
        client.force_login(fleet.world.cashier)
        assert client.get(url).status_code == 403

    @pytest.mark.parametrize("url", [PAGE, DATA, LIVE])
    def test_it_sends_anonymous_users_to_login(self, client, url):
        assert client.get(url).status_code == 302


class DashboardDataTestCase:
    def test_it_gives_todays_sales_by_point_and_method(self, client, fleet):
        client.force_login(fleet.world.finance)
        data = client.get(DATA).json()
        today = data["today"]
        assert today["points"] == ["Counter A1", "Counter A2"]
        series = {s["method"]: s["data"] for s in today["series"]}
        assert series == {"cash": ["100.00", "20.25"], "card": ["50.50", "0.00"]}
        assert (today["count"], today["total"]) == (3, "170.75")
        assert data["recovery"]["sites"] == ["Site a1", "Site a2"]
        assert data["energy"]["sites"] == ["Site a1", "Site a2"]
        assert data["health"] == {"offline": 1, "cut_off": 1, "low_credit": 2}

    def test_it_shows_an_outsider_only_their_group(self, client, fleet):
        client.force_login(fleet.finance_b)
        data = client.get(DATA).json()
        assert data["today"]["points"] == ["Counter B1"]
        assert data["recovery"]["sites"] == ["Site b1"]
        assert data["health"]["offline"] == 1


class LiveMonitorTestCase:
    def test_it_returns_only_vends_after_the_last_seen(self, client, fleet):
        client.force_login(fleet.world.finance)
        first = client.get(LIVE).json()
        assert first["latest"] == max(v["id"] for v in first["vends"])
        assert client.get(LIVE, {"after": first["latest"]}).json()["vends"] == []
        new = b.sale(fleet.acc2, fleet.p2, "12.00", by=fleet.world.cashier)
        later = client.get(LIVE, {"after": first["latest"]}).json()
        assert [v["id"] for v in later["vends"]] == [new.pk]
        assert later["vends"][0]["amount"] == "12.00"
        assert later["today"]["total"] == "182.75"

    def test_it_never_shows_another_groups_vends(self, client, fleet):
        b.sale(fleet.accb, fleet.pb, "1.00")
        client.force_login(fleet.world.auditor)
        vends = client.get(LIVE, {"after": "garbage"}).json()["vends"]
        assert vends and {v["site"] for v in vends} == {"Site a1"}
