"""Money and energy in API bodies are plain decimal strings: anything else is a 4xx that moves
nothing, never a 5xx (issue: trustworthy at the edges)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from prepay.tenancy.models import Site
from prepay.vending.models import Vend
from tests.helpers import changes_nothing

NOT_PLAIN = ["1_000", "1E+2", "1e26", "NaN", "Infinity", "-Infinity", "1,000", "1 000", "+5", "0x10", "١٢"]


class AmountInputTestCase:
    def vend(self, api, shop, key, **amounts):
        return api.post("/vends", {"account_id": shop.account.pk, **amounts}, idem=key)

    @pytest.mark.parametrize("text", NOT_PLAIN)
    def test_it_refuses_what_is_not_a_plain_decimal(self, shop, api, text):
        with changes_nothing():
            r = self.vend(api, shop, "bad", amount=text)
        assert (r.status, r.data["code"]) == (400, "invalid_amount"), r.data
        assert "plain number" in r.data["message"]

    @pytest.mark.parametrize("number", [1.5, 1e26, 0.1])
    def test_it_refuses_a_json_number_with_a_fraction_or_exponent(self, shop, api, number):
        with changes_nothing():
            r = self.vend(api, shop, "float", amount=number)
        assert (r.status, r.data["code"]) == (422, "invalid_request"), r.data

    def test_it_refuses_too_many_places_and_less_than_one_fen(self, shop, api):
        with changes_nothing():
            places = self.vend(api, shop, "p", amount="10.005")
            fen = self.vend(api, shop, "f", amount="0.001")
            energy = self.vend(api, shop, "e", energy="1.0001")
            huge = self.vend(api, shop, "h", amount="9" * 40)
        assert "at most 2 decimal places" in places.data["message"]
        assert "less than one fen" in fen.data["message"]
        assert "at most 3 decimal places" in energy.data["message"]
        assert "too large" in huge.data["message"]
        assert {places.status, fen.status, energy.status, huge.status} == {400}

    def test_it_reads_full_width_digits_and_a_whole_json_number(self, shop, api):
        first = self.vend(api, shop, "fw", amount="１０.５０")
        second = self.vend(api, shop, "int", amount=7)
        assert (first.status, first.data["amount"]) == (201, "10.50")
        assert (second.status, second.data["amount"]) == (201, "7.00")

    def test_it_refuses_a_sale_above_the_sites_limit_with_amount_too_large(self, shop, api):
        Site.objects.filter(pk=shop.world.a1.site.pk).update(max_sale_amount=Decimal("100.00"))
        with changes_nothing():
            r = self.vend(api, shop, "big", amount="100.01")
            q = api.post("/quotes", {"account_id": shop.account.pk, "amount": "100.01"})
        assert (r.status, r.data["code"]) == (400, "amount_too_large")
        assert (q.status, q.data["code"]) == (400, "amount_too_large")
        assert not Vend.objects.exists()

    @pytest.mark.parametrize("text", ["1E+2", "NaN", "1_000"])
    def test_it_refuses_a_quote_and_a_float_top_up_alike(self, shop, api, text):
        with changes_nothing():
            q = api.post("/quotes", {"account_id": shop.account.pk, "amount": text})
            t = api.post(f"/points/{shop.agent.pk}/float/topups", {"amount": text}, idem="t")
        assert (q.status, q.data["code"]) == (400, "invalid_amount")
        assert t.status in (400, 403) and t.status < 500
