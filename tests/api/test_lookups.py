"""Lookups and quotes: accounts, balances, meters — only within the caller's reach."""

from __future__ import annotations

from decimal import Decimal

from prepay.vending.models import Vend
from tests import factories as f
from tests.api.conftest import Api, make_client
from tests.helpers import changes_nothing


class AccountLookupTestCase:
    def test_it_finds_by_number_serial_and_name(self, shop, api):
        acc = shop.account
        for q in (acc.number, shop.meter.serial, acc.customer.name):
            r = api.get(f"/accounts?q={q}")
            assert r.status == 200 and acc.number in [a["number"] for a in r.data], q
        assert api.get(f"/accounts?q={shop.meter.serial}").data[0]["meter"] == shop.meter.serial

    def test_it_hides_other_sites_accounts(self, shop, api):
        other = f.account(shop.world.a2, meter_=f.meter(shop.world.a2))
        assert api.get(f"/accounts?q={other.number}").data == []
        r = api.get(f"/accounts/{other.pk}")
        assert (r.status, r.data["code"]) == (404, "not_found")
        assert api.get(f"/accounts/{other.pk}/balance").status == 404

    def test_the_query_is_required(self, shop, api):
        r = api.get("/accounts")
        assert (r.status, r.data["code"]) == (422, "invalid_request")

    def test_it_shows_the_account_with_its_balance(self, shop, api):
        api.post("/vends", {"account_id": shop.account.pk, "amount": "10.01"}, idem="v")
        r = api.get(f"/accounts/{shop.account.pk}")
        assert r.status == 200 and r.data["delivery"] == "token"
        assert r.data["meter_detail"]["serial"] == shop.meter.serial
        spent = Decimal(Vend.objects.get().breakdown["total"])
        assert Decimal(r.data["balance"]) == Decimal("10.01") - spent
        assert api.get(f"/accounts/{shop.account.pk}/balance").data["balance"] == r.data["balance"]


class MeterLookupTestCase:
    def test_it_finds_a_meter_and_its_account(self, shop, api):
        r = api.get(f"/meters/{shop.meter.serial}")
        assert r.status == 200 and r.data["account"]["number"] == shop.account.number
        assert r.data["multiplier"] == 1

    def test_another_groups_meter_is_not_found(self, shop, api):
        other = f.meter(shop.world.b1)
        assert api.get(f"/meters/{other.serial}").status == 404


class QuoteTestCase:
    def test_it_prices_by_money_and_energy_and_moves_nothing(self, shop, api):
        with changes_nothing():
            money = api.post("/quotes", {"account_id": shop.account.pk, "amount": "50"})
            energy = api.post("/quotes", {"account_number": shop.account.number, "energy": "100"})
        assert money.status == 200 and money.data["energy"] == "85.042" and money.data["delivery"] == "token"
        assert energy.data["amount"] == "58.80" and energy.data["breakdown"]["lines"]

    def test_it_refuses_like_the_vend_would(self, shop, api):
        r = api.post("/quotes", {"account_id": shop.account.pk, "amount": "5", "energy": "1"})
        assert (r.status, r.data["code"]) == (400, "amount_or_energy")
        r = api.post("/quotes", {"amount": "5"})
        assert (r.status, r.data["code"]) == (400, "account_required")

    def test_it_needs_the_quote_scope(self, shop):
        _c, key = make_client(shop, scopes=["read"], name="reader")
        r = Api(key).post("/quotes", {"account_id": shop.account.pk, "amount": "5"})
        assert (r.status, r.data["code"]) == (403, "scope_missing")

    def test_an_outsider_cannot_price_anothers_account(self, shop, client):
        client.force_login(shop.world.clerk_b)
        r = Api(client=client).post("/quotes", {"account_id": shop.account.pk, "amount": "5"})
        assert (r.status, r.data["code"]) == (404, "not_found")


class OpenApiTestCase:
    def test_it_serves_the_schema_and_docs(self, client):
        schema = client.get("/api/openapi.json").json()
        assert "/api/vends" in schema["paths"] and client.get("/api/docs").status_code == 200
        params = schema["paths"]["/api/vends"]["post"]["parameters"]
        assert any(p["name"] == "Idempotency-Key" for p in params)
