"""`prepay apikey create | set-point`: the vending point must be one of the client's site; the creator
is recorded."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from prepay.api.models import ApiClient
from prepay.vending.models import PointKind, VendingPoint
from tests.helpers import changes_nothing


def apikey(*args: str) -> str:
    out = StringIO()
    call_command("apikey", *args, stdout=out)
    return out.getvalue()


def other_site_point(shop: Any, code: str = "ag2") -> VendingPoint:
    return VendingPoint.objects.create(site=shop.world.a2.site, code=code, name=code, kind=PointKind.AGENT)


class ApikeyCreateTestCase:
    def test_it_records_who_created_the_client(self, shop):
        apikey("create", "wx", "--group", "ga", "--site", "a1", "--point", "ag1", "--user", "admin_a")
        client = ApiClient.objects.get(name="wx")
        assert client.created_by == shop.world.admin and client.point == shop.agent

    def test_it_refuses_a_point_of_another_site(self, shop):
        other_site_point(shop)
        with changes_nothing(), pytest.raises(CommandError, match="point_other_site: Vending point ag2"):
            apikey("create", "wx", "--group", "ga", "--site", "a1", "--point", "ag2", "--user", "admin_a")
        assert not ApiClient.objects.exists()

    def test_it_picks_the_point_of_the_clients_site_when_codes_repeat(self, shop):
        other_site_point(shop, "ag1")  # a2 has an "ag1" too
        apikey("create", "wx", "--group", "ga", "--site", "a1", "--point", "ag1", "--user", "admin_a")
        assert ApiClient.objects.get(name="wx").point == shop.agent


class ApikeySetPointTestCase:
    def make(self, shop: Any) -> ApiClient:
        apikey("create", "wx", "--group", "ga", "--site", "a1", "--user", "admin_a")
        return ApiClient.objects.get(name="wx")

    def test_it_sets_and_clears_the_point(self, shop):
        client = self.make(shop)
        assert "sells as ag1" in apikey("set-point", client.prefix, "--point", "ag1", "--user", "admin_a")
        client.refresh_from_db()
        assert client.point == shop.agent
        apikey("set-point", client.prefix, "--point", "-", "--user", "admin_a")
        client.refresh_from_db()
        assert client.point is None

    def test_it_refuses_a_point_of_another_site_and_unknown_names(self, shop):
        client = self.make(shop)
        other_site_point(shop)
        with changes_nothing():
            with pytest.raises(CommandError, match="point_other_site"):
                apikey("set-point", client.prefix, "--point", "ag2", "--user", "admin_a")
            with pytest.raises(CommandError, match="No vending point nope"):
                apikey("set-point", client.prefix, "--point", "nope", "--user", "admin_a")
            with pytest.raises(CommandError, match="No API client with prefix"):
                apikey("set-point", "000000000000", "--point", "ag1", "--user", "admin_a")

    def test_it_refuses_a_wrong_role_and_an_outsider(self, shop):
        client = self.make(shop)
        with changes_nothing():
            for user in ("finance_a", "clerk_a2", "clerk_b1"):
                with pytest.raises(CommandError, match="forbidden"):
                    apikey("set-point", client.prefix, "--point", "ag1", "--user", user)
