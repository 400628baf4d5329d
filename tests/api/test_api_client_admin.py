"""The back office's API client screens: read-only rows with the creator, and "Change vending point"."""

from __future__ import annotations

from typing import Any

from django.test import Client

from prepay.api.actions import do_create_api_client
from prepay.audit.models import AuditEvent
from prepay.vending.models import PointKind, VendingPoint
from tests import factories as f
from tests.helpers import changes_nothing


def back_office(user: Any, language: str = "en") -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE=language)
    c.force_login(user)
    return c


def bank(shop: Any) -> Any:
    w = shop.world
    client, _key = do_create_api_client(
        group=w.a1.group, site=w.a1.site, name="bank", scopes=["read"], roles=["cashier"], actor=w.admin
    )
    return client


def url(client: Any, tail: str = "point/") -> str:
    return f"/admin/api/apiclient/{client.pk}/{tail}"


class ApiClientPointScreenTestCase:
    def test_it_shows_the_creator_and_the_tool(self, shop):
        client = bank(shop)
        html = back_office(shop.world.admin).get(url(client, "change/")).content.decode()
        assert "admin_a" in html and url(client) in html

    def test_it_changes_the_point(self, shop):
        client = bank(shop)
        admin = back_office(shop.world.admin)
        assert admin.get(url(client)).status_code == 200
        r = admin.post(url(client), {"point": shop.agent.pk})
        assert r.status_code == 302
        client.refresh_from_db()
        assert client.point == shop.agent and AuditEvent.objects.filter(verb="apiclient.point").exists()

    def test_it_refuses_a_point_of_another_site_on_the_form(self, shop):
        client = bank(shop)
        other = VendingPoint.objects.create(
            site=shop.world.a2.site, code="ag2", name="ag2", kind=PointKind.AGENT
        )
        with changes_nothing():
            r = back_office(shop.world.admin).post(url(client), {"point": other.pk})
        assert r.status_code == 400 and "belongs to site a2" in r.content.decode()
        client.refresh_from_db()
        assert client.point is None

    def test_it_says_so_in_chinese(self, shop):
        client = bank(shop)
        other = VendingPoint.objects.create(
            site=shop.world.a2.site, code="ag2", name="ag2", kind=PointKind.AGENT
        )
        r = back_office(shop.world.admin, "zh-hans").post(url(client), {"point": other.pk})
        assert r.status_code == 400 and "只服务于站点 a1" in r.content.decode()

    def test_a_point_of_another_group_is_not_offered(self, shop):
        client = bank(shop)
        other = VendingPoint.objects.create(
            site=shop.world.b1.site, code="agb", name="agb", kind=PointKind.AGENT
        )
        with changes_nothing():
            r = back_office(shop.world.admin).post(url(client), {"point": other.pk})
        assert r.status_code == 200 and "Select a valid choice" in r.content.decode()

    def test_a_wrong_role_gets_403_and_an_outsider_404(self, shop):
        client = bank(shop)
        admin_b = f.user("admin_b", memberships=[(shop.world.b1.group, None, "admin")])
        with changes_nothing():
            assert (
                back_office(shop.world.finance).post(url(client), {"point": shop.agent.pk}).status_code == 403
            )
            assert back_office(admin_b).post(url(client), {"point": shop.agent.pk}).status_code == 404
