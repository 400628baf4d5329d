"""API authentication: keys (Bearer / X-Api-Key, hashed, revocable, scoped) and sessions with CSRF."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from prepay.api.actions import do_create_api_client, do_revoke_api_client
from prepay.api.models import ApiClient
from prepay.audit.models import AuditEvent
from tests.api.conftest import Api, make_client
from tests.helpers import refused


class KeyAuthTestCase:
    def test_it_accepts_a_bearer_key_and_an_x_api_key_header(self, shop):
        client, key = make_client(shop, scopes=["read"])
        path = f"/accounts/{shop.account.pk}"
        assert Api(key).get(path).status == 200
        assert Api(client=Client()).get(path, headers={"X-Api-Key": key}).status == 200
        client.refresh_from_db()
        assert client.last_used_at is not None

    def test_it_never_stores_the_key(self, shop):
        client, key = make_client(shop, scopes=["read"])
        secret = key.split("_", 2)[2]
        row = ApiClient.objects.filter(pk=client.pk).values().get()
        assert all(secret not in str(v) for v in row.values())
        assert key.startswith(f"pp_{client.prefix}_")
        event = AuditEvent.objects.get(verb="apiclient.create")
        assert secret not in str(event.after)

    @pytest.mark.parametrize("header", ["Bearer nope", "Bearer pp_000000000000_x", "Basic abc"])
    def test_it_refuses_missing_and_wrong_keys(self, shop, header):
        r = Api(client=Client()).get("/accounts?q=A", headers={"Authorization": header})
        assert (r.status, r.data["code"]) == (401, "unauthenticated") and r.data["message"]
        assert Api().get("/accounts?q=A").status == 401

    def test_a_tampered_secret_is_refused(self, shop):
        _client, key = make_client(shop, scopes=["read"])
        assert Api(key[:-1] + ("a" if key[-1] != "a" else "b")).get("/accounts?q=A").status == 401

    def test_a_revoked_key_stops_working(self, shop):
        client, key = make_client(shop, scopes=["read"])
        do_revoke_api_client(client=client, actor=shop.world.admin)
        assert Api(key).get("/accounts?q=A").status == 401
        refused("already_revoked", do_revoke_api_client, client=client, actor=shop.world.admin)

    def test_a_key_without_the_scope_gets_scope_missing(self, shop):
        _client, key = make_client(shop, scopes=["quote"])
        r = Api(key).get(f"/accounts/{shop.account.pk}")
        assert (r.status, r.data["code"]) == (403, "scope_missing")


class CreateClientTestCase:
    def test_only_an_admin_creates_clients(self, shop):
        w = shop.world
        kw = dict(group=w.a1.group, name="x", scopes=["read"], roles=["cashier"], site=w.a1.site)
        refused("forbidden", do_create_api_client, actor=w.clerk, **kw)
        refused("forbidden", do_create_api_client, actor=w.clerk_b, **kw)

    def test_it_refuses_unknown_scopes_roles_and_duplicates(self, shop):
        w = shop.world
        kw = dict(group=w.a1.group, actor=w.admin, site=w.a1.site)
        refused("invalid_scope", do_create_api_client, name="x", scopes=["sell"], roles=["cashier"], **kw)
        refused("invalid_role", do_create_api_client, name="x", scopes=["read"], roles=["boss"], **kw)
        refused("invalid_name", do_create_api_client, name="a b", scopes=["read"], roles=["cashier"], **kw)
        do_create_api_client(name="x", scopes=["read"], roles=["cashier"], **kw)
        refused("name_taken", do_create_api_client, name="x", scopes=["read"], roles=["cashier"], **kw)
        other = shop.world.b1.site
        refused(
            "wrong_site",
            do_create_api_client,
            name="y",
            scopes=["read"],
            roles=["cashier"],
            group=w.a1.group,
            actor=w.admin,
            site=other,
        )


class SessionAuthTestCase:
    def test_a_signed_in_user_reads_without_a_key(self, shop, client):
        client.force_login(shop.world.clerk)
        r = Api(client=client).get(f"/accounts?q={shop.account.number}")
        assert r.status == 200 and [a["number"] for a in r.data] == [shop.account.number]

    def test_an_unsafe_request_needs_the_csrf_token(self, shop):
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(shop.world.cashier)
        api = Api(client=browser)
        body = {"account_id": shop.account.pk, "amount": "5"}
        r = api.post("/quotes", body)
        assert (r.status, r.data["code"]) == (403, "csrf_failed")
        browser.get("/login/")  # sets the csrftoken cookie
        token = browser.cookies["csrftoken"].value
        ok = api.post("/quotes", body, headers={"X-CSRFToken": token})
        assert ok.status == 200, ok.data

    def test_a_key_request_needs_no_csrf_token(self, shop, api):
        api.http = Client(enforce_csrf_checks=True)
        assert api.post("/quotes", {"account_id": shop.account.pk, "amount": "5"}).status == 200


class ApikeyCommandTestCase:
    def test_it_creates_lists_and_revokes(self, shop):
        out = StringIO()
        call_command(
            "apikey",
            "create",
            "wechat",
            "--group",
            "ga",
            "--site",
            "a1",
            "--point",
            "ag1",
            "--scopes",
            "read,vend",
            "--user",
            "admin_a",
            stdout=out,
        )
        key = out.getvalue().strip().splitlines()[-1]
        client = ApiClient.objects.get(name="wechat")
        assert client.scopes == ["read", "vend"] and client.point == shop.agent
        assert Api(key).get(f"/accounts/{shop.account.pk}").status == 200
        listing = StringIO()
        call_command("apikey", "list", stdout=listing)
        assert client.prefix in listing.getvalue() and key not in listing.getvalue()
        call_command("apikey", "revoke", client.prefix, "--user", "admin_a", stdout=StringIO())
        assert Api(key).get(f"/accounts/{shop.account.pk}").status == 401

    def test_it_refuses_a_clerk(self, shop):
        with pytest.raises(CommandError, match="forbidden"):
            call_command("apikey", "create", "x", "--group", "ga", "--user", "clerk_a1", stdout=StringIO())
