"""Four eyes across identities: a request made through an API client is never decided by the person
who created the client, nor through another client of theirs, and a person's own request is never
decided through a client they created (code ``same_person``)."""

from __future__ import annotations

from typing import Any

from django.test import Client

from prepay.api.models import ApiClient
from prepay.tenancy.choices import Role
from prepay.vending.models import Reversal, ReversalStatus
from tests import factories as f
from tests.api.conftest import Api, make_client
from tests.helpers import changes_nothing


def session(user: Any) -> Api:
    c = Client()
    c.force_login(user)
    return Api(client=c)


def requested(shop: Any, api: Api, requester: Api | None = None) -> int:
    """A vend sold through ``api`` and its reversal requested (through ``requester``, default ``api``)."""
    vend = api.post("/vends", {"account_id": shop.account.pk, "amount": "20"}, idem="v-1")
    assert vend.status == 201, vend.data
    r = (requester or api).post(
        f"/vends/{vend.data['id']}/reversal", {"reason": "wrong account", "token_entered": False}, idem="r-1"
    )
    assert r.status == 201, r.data
    return int(r.data["id"])


def refused_as_same_person(who: Api, reversal_id: int, decision: str = "approve", **kw: Any) -> Any:
    with changes_nothing():
        r = who.post(f"/reversals/{reversal_id}/{decision}", {"note": "ok"}, **kw)
    assert (r.status, r.data["code"]) == (400, "same_person"), r.data
    assert Reversal.objects.get(pk=reversal_id).status == ReversalStatus.REQUESTED
    return r


def approver_client(shop: Any, name: str, actor: Any = None) -> Api:
    client, key = make_client(shop, scopes=["read", "approve"], roles=["finance"], name=name, point=None)
    if actor is not None:
        ApiClient.objects.filter(pk=client.pk).update(created_by=actor)
    return Api(key)


class SamePersonTestCase:
    def test_the_creator_of_the_client_cannot_decide_its_request(self, shop, api):
        rid = requested(shop, api)  # `api` was created by admin_a
        r = refused_as_same_person(session(shop.world.admin), rid)
        assert "admin_a" in r.data["message"] and "API client they created" in r.data["message"]
        refused_as_same_person(session(shop.world.admin), rid, "reject")
        ok = session(shop.world.finance).post(f"/reversals/{rid}/approve", {"note": "checked"})
        assert ok.status == 200 and ok.data["status"] == "approved"

    def test_another_client_of_the_same_creator_cannot_decide_it(self, shop, api):
        rid = requested(shop, api)
        refused_as_same_person(approver_client(shop, "checker"), rid)
        admin2 = f.user("admin_a_two", memberships=[(shop.world.a1.group, None, Role.ADMIN)])
        other = approver_client(shop, "checker2", actor=admin2)
        assert other.post(f"/reversals/{rid}/approve", {}).data["status"] == "approved"

    def test_a_persons_own_request_is_not_decided_through_their_client(self, shop, api):
        boss = f.user(
            "boss",
            memberships=[
                (shop.world.a1.group, None, Role.ADMIN),
                (shop.world.a1.group, shop.world.a1.site, Role.CLERK),
            ],
        )
        rid = requested(shop, api, requester=session(boss))
        refused_as_same_person(approver_client(shop, "bosskey", actor=boss), rid)
        # the creator of `api` (admin_a) is another person: they may decide boss's request
        assert session(shop.world.admin).post(f"/reversals/{rid}/reject", {"note": "no"}).status == 200

    def test_an_unknown_creator_counts_as_any_admin_of_the_clients_site(self, shop, api):
        ApiClient.objects.update(created_by=None)  # a client from before the creator was recorded
        rid = requested(shop, api)
        r = refused_as_same_person(session(shop.world.admin), rid)
        assert "has no recorded creator" in r.data["message"]
        assert session(shop.world.finance).post(f"/reversals/{rid}/approve", {}).status == 200

    def test_two_clients_of_unknown_creators_never_decide_each_others_requests(self, shop, api):
        checker = approver_client(shop, "checker")
        ApiClient.objects.update(created_by=None)
        refused_as_same_person(checker, requested(shop, api))

    def test_it_says_so_in_chinese(self, shop, api):
        rid = requested(shop, api)
        r = refused_as_same_person(session(shop.world.admin), rid, lang="zh-hans")
        assert "出自同一人（admin_a）" in r.data["message"]

    def test_a_wrong_role_and_an_outsider_are_refused_first(self, shop, api):
        rid = requested(shop, api)
        with changes_nothing():
            clerk = session(shop.world.clerk).post(f"/reversals/{rid}/approve", {})
            outsider = session(shop.world.clerk_b).post(f"/reversals/{rid}/approve", {})
        assert (clerk.status, clerk.data["code"]) == (403, "forbidden")
        assert (outsider.status, outsider.data["code"]) == (404, "not_found")
