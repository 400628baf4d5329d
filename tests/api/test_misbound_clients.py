"""prepay.api.checks.misbound_clients: API clients selling as a vending point outside their site."""

from __future__ import annotations

from typing import Any

from prepay.api.actions import do_create_api_client
from prepay.api.checks import misbound_clients
from prepay.api.models import ApiClient
from prepay.vending.models import PointKind, VendingPoint


def create(shop: Any, name: str, site: Any, point: Any = None) -> ApiClient:
    w = shop.world
    client, _key = do_create_api_client(
        group=w.a1.group, site=site, point=point, name=name, scopes=["read"], roles=["cashier"], actor=w.admin
    )
    return client


class MisboundClientsTestCase:
    def test_it_finds_nothing_wrong_in_good_rows(self, shop):
        create(shop, "bound", shop.world.a1.site, shop.agent)
        create(shop, "wide", None, shop.agent)
        create(shop, "pointless", shop.world.a1.site)
        assert list(misbound_clients()) == []

    def test_it_reports_a_point_of_another_site_or_group(self, shop):
        a2 = VendingPoint.objects.create(site=shop.world.a2.site, code="ag2", name="x", kind=PointKind.AGENT)
        b1 = VendingPoint.objects.create(site=shop.world.b1.site, code="agb", name="y", kind=PointKind.AGENT)
        bound = create(shop, "bound", shop.world.a1.site)
        wide = create(shop, "wide", None)
        # rows written before the rule (the actions refuse them now)
        ApiClient.objects.filter(pk=bound.pk).update(point=a2)
        ApiClient.objects.filter(pk=wide.pk).update(point=b1)
        found = list(misbound_clients())
        assert found == [
            (
                f"ga/bound ({bound.prefix})",
                "bound to site a1 but sells as vending point ag2 of site a2; choose a point of a1 in the "
                "back office or revoke the client",
            ),
            (f"ga/wide ({wide.prefix})", "sells as vending point agb of another group"),
        ]
