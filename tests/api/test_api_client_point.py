"""The vending point of an API client: a client bound to a site sells only as a point of that site
(do_create_api_client, do_set_api_client_point), and the client records who created it."""

from __future__ import annotations

from typing import Any

from prepay.api.actions import do_create_api_client, do_revoke_api_client, do_set_api_client_point
from prepay.api.models import ApiClient
from prepay.audit.models import AuditEvent
from prepay.vending.models import PointKind, VendingPoint
from tests.helpers import refused


def point_at(site_world: Any, code: str) -> VendingPoint:
    return VendingPoint.objects.create(site=site_world.site, code=code, name=code, kind=PointKind.AGENT)


def create(shop: Any, **kw: Any) -> Any:
    w = shop.world
    args = dict(
        group=w.a1.group, site=w.a1.site, name="bank", scopes=["read"], roles=["cashier"], actor=w.admin
    )
    return do_create_api_client(**(args | kw))


class CreateWithPointTestCase:
    def test_it_records_the_point_and_the_creator(self, shop):
        client, _key = create(shop, point=shop.agent)
        assert client.point == shop.agent and client.created_by == shop.world.admin

    def test_it_refuses_a_point_of_another_site(self, shop):
        other = point_at(shop.world.a2, "ag2")
        e = refused("point_other_site", create, shop=shop, point=other)
        assert "ag2" in e.message and "a2" in e.message and "a1" in e.message
        assert not ApiClient.objects.exists()

    def test_it_refuses_a_point_of_another_group(self, shop):
        refused("wrong_site", create, shop=shop, point=point_at(shop.world.b1, "agb"))

    def test_a_group_wide_client_may_sell_as_any_point_of_the_group(self, shop):
        client, _key = create(shop, site=None, point=point_at(shop.world.a2, "ag2"))
        assert client.point.code == "ag2"

    def test_it_says_so_in_chinese(self, shop):
        from django.utils import translation

        with translation.override("zh-hans"):
            e = refused("point_other_site", create, shop=shop, point=point_at(shop.world.a2, "ag2"))
        assert "只服务于站点 a1" in e.message


class SetPointTestCase:
    def test_it_changes_the_point_with_an_audit_event(self, shop):
        client, _key = create(shop)
        do_set_api_client_point(client=client, point=shop.agent, actor=shop.world.admin)
        client.refresh_from_db()
        assert client.point == shop.agent
        event = AuditEvent.objects.get(verb="apiclient.point")
        assert (event.before, event.after) == ({"point": None}, {"point": "ag1"})
        do_set_api_client_point(client=client, point=None, actor=shop.world.admin)
        client.refresh_from_db()
        assert client.point is None

    def test_the_same_point_again_changes_nothing(self, shop):
        client, _key = create(shop, point=shop.agent)
        refused_nothing = AuditEvent.objects.count()
        do_set_api_client_point(client=client, point=shop.agent, actor=shop.world.admin)
        assert AuditEvent.objects.count() == refused_nothing

    def test_it_refuses_a_point_of_another_site_or_group(self, shop):
        client, _key = create(shop, point=shop.agent)
        kw = dict(client=client, actor=shop.world.admin)
        refused("point_other_site", do_set_api_client_point, point=point_at(shop.world.a2, "ag2"), **kw)
        refused("wrong_site", do_set_api_client_point, point=point_at(shop.world.b1, "agb"), **kw)
        client.refresh_from_db()
        assert client.point == shop.agent

    def test_it_refuses_a_revoked_client(self, shop):
        client, _key = create(shop)
        do_revoke_api_client(client=client, actor=shop.world.admin)
        refused(
            "client_revoked", do_set_api_client_point, client=client, point=shop.agent, actor=shop.world.admin
        )

    def test_it_refuses_a_wrong_role_and_an_outsider(self, shop):
        client, _key = create(shop)
        for who in (shop.world.finance, shop.world.clerk, shop.world.clerk_a2, shop.world.clerk_b):
            refused("forbidden", do_set_api_client_point, client=client, point=shop.agent, actor=who)
