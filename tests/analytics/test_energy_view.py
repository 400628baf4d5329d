"""Energy analysis (能耗分析): figures by item and area, year-on-year and period-on-period, per m²,
time-of-use shares, top consumers; charts' data; scoping and refusals."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from prepay.analytics.models import DailyUsage, MeterClassification
from tests import factories as f


def use(meter, day, kwh, *, account=None, tou=None):
    sharp, peak, flat, valley = (Decimal(v) for v in (tou or (0, 0, 0, 0)))
    return DailyUsage.objects.create(
        meter=meter,
        site=meter.site,
        account=account,
        day=day,
        readings=24,
        usage=Decimal(kwh),
        sharp=sharp,
        peak=peak,
        flat=flat,
        valley=valley,
    )


@pytest.fixture
def building(world):
    """A1: lights (A1, building-wide), a lift (C1), two households (unclassified, in their units) over
    May 2026, May 2025 and April 2026."""
    w = world.a1
    lights, lift = f.meter(w, w.three), f.meter(w, w.three)
    MeterClassification.objects.create(meter=lights, item="A1", area_kind="building", building=w.building)
    MeterClassification.objects.create(meter=lift, item="C1", area_kind="public", building=w.building)
    homes = []
    for unit in w.units[:2]:
        m = f.meter(w)
        homes.append((m, f.account(w, unit=unit, meter_=m)))
    for day in (date(2026, 5, 1) + timedelta(days=n) for n in range(31)):
        use(lights, day, "10", tou=("1", "3", "4", "2"))
        use(lift, day, "5")
        use(homes[0][0], day, "4", account=homes[0][1])
        use(homes[1][0], day, "2", account=homes[1][1])
    for day in (date(2025, 5, 1) + timedelta(days=n) for n in range(31)):
        use(lights, day, "8")
    for day in (date(2026, 4, 1) + timedelta(days=n) for n in range(30)):
        use(lift, day, "6")
    f.meter(world.b1)  # another group's meter, never counted
    return w


def url(site, **params):
    return reverse("analytics:energy", args=[site.pk]), {
        "date_from": "2026-05-01",
        "date_to": "2026-05-31",
        **params,
    }


class EnergyViewTestCase:
    def test_it_sums_by_item_with_year_on_year_and_month_on_month(self, client, world, building):
        client.force_login(world.finance)
        page = client.get(*url(building.site))
        assert page.status_code == 200
        report = page.context["report"]
        items = {i["code"]: i for i in report.items}
        assert report.total == Decimal("651.000")  # 31 × (10 + 5 + 4 + 2)
        assert items["A"]["energy"] == Decimal("310.000") and items["A"]["yoy"] == Decimal("0.2500")
        assert items["C"]["energy"] == Decimal("155.000") and items["C"]["mom"] == Decimal("-0.1389")
        assert items["-"]["energy"] == Decimal("186.000") and items["B"]["energy"] == 0

    def test_it_breaks_sub_items_down(self, client, world, building):
        client.force_login(world.finance)
        items = {
            i["code"]: i["energy"]
            for i in client.get(*url(building.site, detail="on")).context["report"].items
        }
        assert items["A1"] == Decimal("310.000") and items["C1"] == Decimal("155.000")

    def test_it_gives_areas_per_square_metre(self, client, world, building):
        client.force_login(world.clerk)
        report = client.get(*url(building.site, area="unit")).context["report"]
        areas = {a["area"]: a for a in report.areas}
        home = areas[str(building.units[0])]
        assert home["energy"] == Decimal("124.000") and home["per_m2"] == Decimal("1.401")  # 124 / 88.5
        assert areas["a1 Block 1 public area"]["energy"] == Decimal("155.000")
        assert report.area_m2 == Decimal("354.000") and report.per_m2 == Decimal("1.839")

    def test_it_gives_time_of_use_shares_and_top_consumers(self, client, world, building):
        client.force_login(world.admin)
        report = client.get(*url(building.site)).context["report"]
        assert [t["share"] for t in report.tou] == [
            Decimal("0.1000"),
            Decimal("0.3000"),
            Decimal("0.4000"),
            Decimal("0.2000"),
        ]
        assert [t["energy"] for t in report.top][:2] == [Decimal("310.000"), Decimal("155.000")]

    def test_it_feeds_the_charts(self, client, world, building):
        client.force_login(world.finance)
        path, params = url(building.site, grain="day")
        data = client.get(
            path.replace(f"{building.site.pk}/", f"{building.site.pk}/data.json"), params
        ).json()
        assert len(data["buckets"]) == 31 and data["series"][0]["data"][0] == "10.000"
        assert {i["name"] for i in data["items"]} == {"A · Lighting and sockets", "C · Power", "Unclassified"}

    @pytest.mark.parametrize(
        "params",
        [
            {"date_to": "2026-04-01"},
            {"grain": "week"},
            {"date_from": "2026-02-30"},
            {"grain": "day", "date_from": "2024-01-01"},
        ],
    )
    def test_it_refuses_filters_that_make_no_sense(self, client, world, building, params):
        client.force_login(world.finance)
        path, base = url(building.site)
        assert client.get(path, {**base, **params}).status_code == 400
        assert client.get(path, {**base, **params, "export": "xlsx"}).status_code == 400

    def test_it_hides_other_sites(self, client, world, building):
        client.force_login(world.clerk_a2)
        assert client.get(*url(building.site)).status_code == 404
        client.force_login(world.clerk_b)
        assert client.get(*url(building.site)).status_code == 404

    def test_it_refuses_a_cashier(self, client, world, building):
        client.force_login(world.cashier)
        assert client.get(*url(building.site)).status_code == 403
        assert client.get(reverse("analytics:energy-index")).status_code == 403

    def test_it_sends_a_one_site_user_straight_to_the_site(self, client, world, building):
        client.force_login(world.clerk)
        response = client.get(reverse("analytics:energy-index"))
        assert response.status_code == 302 and response["Location"] == reverse(
            "analytics:energy", args=[building.site.pk]
        )
        client.force_login(world.finance)
        assert client.get(reverse("analytics:energy-index")).status_code == 200
