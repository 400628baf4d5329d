"""POST /api/reversals/{id}/<word>: only approve and reject decide; any other word is 400
``unknown_decision`` and changes nothing (never read as a rejection)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from prepay.vending.models import Reversal, ReversalStatus
from tests.api.conftest import Api, make_client
from tests.helpers import changes_nothing


def session(user: Any) -> Api:
    c = Client()
    c.force_login(user)
    return Api(client=c)


def requested(shop: Any, api: Api) -> int:
    vend = api.post("/vends", {"account_id": shop.account.pk, "amount": "20"}, idem="v-1").data
    r = api.post(f"/vends/{vend['id']}/reversal", {"reason": "wrong", "token_entered": False}, idem="r-1")
    assert r.status == 201, r.data
    return int(r.data["id"])


class UnknownDecisionTestCase:
    @pytest.mark.parametrize("word", ["approved", "Reject", "rejected", "delete", "cancel"])
    def test_it_refuses_any_other_word(self, shop, api, word):
        rid = requested(shop, api)
        with changes_nothing():
            r = session(shop.world.finance).post(f"/reversals/{rid}/{word}", {"note": "x"})
        assert (r.status, r.data["code"]) == (400, "unknown_decision")
        assert r.data["message"] == f"Unknown decision {word}: use approve or reject. Nothing was decided."
        assert Reversal.objects.get(pk=rid).status == ReversalStatus.REQUESTED

    def test_it_refuses_it_for_an_api_key_too_and_in_chinese(self, shop, api):
        rid = requested(shop, api)
        _c, key = make_client(shop, scopes=["approve"], roles=["finance"], name="fin", point=None)
        with changes_nothing():
            r = Api(key).post(f"/reversals/{rid}/nope", {}, lang="zh-hans")
        assert (r.status, r.data["code"]) == (400, "unknown_decision")
        assert "未知的审批决定 nope" in r.data["message"]

    def test_the_known_words_still_decide(self, shop, api):
        rid = requested(shop, api)
        assert (
            session(shop.world.finance).post(f"/reversals/{rid}/reject", {"note": "no"}).data["status"]
            == "rejected"
        )

    def test_it_wants_credentials_first(self, shop, api):
        rid = requested(shop, api)
        r = Api().post(f"/reversals/{rid}/nope", {})
        assert (r.status, r.data["code"]) == (401, "unauthenticated")

    def test_a_wrong_role_and_an_outsider_learn_nothing_more(self, shop, api):
        rid = requested(shop, api)
        with changes_nothing():
            for who in (shop.world.clerk, shop.world.clerk_b):
                r = session(who).post(f"/reversals/{rid}/nope", {})
                assert (r.status, r.data["code"]) == (400, "unknown_decision")
        assert Reversal.objects.get(pk=rid).status == ReversalStatus.REQUESTED
