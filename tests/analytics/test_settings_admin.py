"""A site's analysis thresholds and the meters' energy items in the back office (site admin only,
validated, audited); the run reads them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from prepay.analytics.models import INTEGER_THRESHOLDS, AnalyticsSettings, MeterClassification
from prepay.audit.models import AuditEvent
from prepay.domain.anomaly import Thresholds
from tests import factories as f

URL = "/admin/analytics/analyticssettings/add/"
ITEMS = "/admin/analytics/meterclassification/add/"


def data(site: Any, **kw: Any) -> dict[str, Any]:
    defaults = {n: getattr(Thresholds(), n) for n in INTEGER_THRESHOLDS}
    base = {
        **defaults,
        "site": site.pk,
        "min_baseline_kwh": "0.5",
        "robust_z": "3.5",
        "size_bands": "60,90,120,180",
        "near_zero_kwh": "0.1",
        "bypass_min_kwh": "0.5",
        "backwards_min_kwh": "0.1",
        "jump_min_kwh": "5",
    }
    return base | kw


class AnalyticsSettingsAdminTestCase:
    def test_it_lets_the_admin_set_a_sites_thresholds_and_the_run_reads_them(self, client, world):
        client.force_login(world.admin)
        response = client.post(
            URL, data(world.a1.site, flag_score=60, near_zero_kwh="0.25", size_bands="50, 100")
        )
        assert response.status_code == 302, response.context["adminform"].form.errors
        conf = AnalyticsSettings.for_site(world.a1.site.pk)
        t = conf.thresholds()
        assert (t.flag_score, t.near_zero, conf.bands) == (60, 250, (50, 100))
        assert AuditEvent.objects.filter(object_type="analytics.analyticssettings").exists()

    def test_it_gives_energies_to_the_rules_in_wh(self):
        assert (
            AnalyticsSettings(near_zero_kwh=Decimal("0.1"), jump_min_kwh=Decimal("7.5")).thresholds().jump_min
            == 7500
        )

    def test_it_gives_defaults_to_a_site_without_settings(self, world):
        assert AnalyticsSettings.for_site(world.a2.site.pk).thresholds() == Thresholds()

    @pytest.mark.parametrize(
        ("change", "says"),
        [
            ({"lookback_days": "3"}, "at least the recent window"),
            ({"min_history_days": "60"}, "longer than the baseline"),
            ({"token_days": "40"}, "fewer than the token window"),
            ({"robust_z": "0.1"}, "between 0.5 and 50"),
            ({"size_bands": "sixty"}, "separated by commas"),
            ({"flag_score": "100"}, "less than or equal to 99"),
        ],
    )
    def test_it_refuses_thresholds_that_make_no_sense(self, client, world, change, says):
        client.force_login(world.admin)
        response = client.post(URL, data(world.a1.site, **change))
        assert response.status_code == 200 and says in response.content.decode()
        assert not AnalyticsSettings.objects.exists()

    @pytest.mark.parametrize("who", ["clerk", "finance", "cashier"])
    def test_it_refuses_other_roles(self, client, world, who):
        client.force_login(getattr(world, who))
        assert client.post(URL, data(world.a1.site)).status_code == 403
        assert not AnalyticsSettings.objects.exists()

    def test_it_refuses_another_groups_site(self, client, world):
        client.force_login(world.admin)
        response = client.post(URL, data(world.b1.site))
        assert response.status_code == 200 and not AnalyticsSettings.objects.exists()


class MeterClassificationAdminTestCase:
    def test_it_classifies_a_meter_by_item_and_area(self, client, world):
        meter = f.meter(world.a1, world.a1.three)
        client.force_login(world.admin)
        response = client.post(
            ITEMS,
            {
                "meter": meter.pk,
                "item": "B1",
                "area_kind": "floor",
                "building": world.a1.building.pk,
                "floor": "2",
            },
        )
        assert response.status_code == 302, response.context["adminform"].form.errors
        assert MeterClassification.objects.get().item == "B1"

    def test_it_refuses_a_building_of_another_site(self, client, world):
        meter = f.meter(world.a1, world.a1.three)
        client.force_login(world.admin)
        response = client.post(
            ITEMS, {"meter": meter.pk, "item": "A", "area_kind": "building", "building": world.a2.building.pk}
        )
        assert response.status_code == 200 and "another site than the meter" in response.content.decode()
        assert not MeterClassification.objects.exists()

    def test_it_refuses_a_clerk(self, client, world):
        client.force_login(world.clerk)
        assert (
            client.post(ITEMS, {"meter": f.meter(world.a1).pk, "item": "A", "area_kind": "unit"}).status_code
            == 403
        )
