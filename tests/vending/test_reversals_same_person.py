"""Reversals and refunds: the person behind an API client never decides what the client requested,
and a person's own request is never decided through a client they created (``same_person``)."""

from __future__ import annotations

from typing import Any

from prepay.api.actions import do_create_api_client
from prepay.api.models import ApiClient
from prepay.tenancy.choices import Role
from prepay.vending.actions import do_approve_reversal, do_reject_reversal, do_request_reversal
from prepay.vending.models import ReversalStatus
from tests import factories as f
from tests.helpers import refused
from tests.vending.test_vend import sell


def service_user(shop: Any, creator: Any, name: str, roles: list[str]) -> Any:
    """The acting user of a new API client at A1 created by ``creator``."""
    w = shop.world
    client, _key = do_create_api_client(
        group=w.a1.group,
        site=w.a1.site,
        name=name,
        scopes=["reversal", "approve"],
        roles=roles,
        actor=creator,
    )
    return client.user


def boss(shop: Any) -> Any:
    """An admin of group A who is also a cashier at A1 (may request and approve)."""
    w = shop.world
    return f.user("boss", memberships=[(w.a1.group, None, Role.ADMIN), (w.a1.group, w.a1.site, Role.CASHIER)])


class ReversalSamePersonTestCase:
    def test_the_clients_creator_cannot_approve_or_reject(self, shop):
        requester = service_user(shop, shop.world.admin, "till", ["cashier"])
        r = do_request_reversal(vend=sell(shop), actor=requester, reason="wrong", token_entered=False)
        e = refused("same_person", do_approve_reversal, reversal=r, actor=shop.world.admin)
        assert "admin_a" in e.message
        refused("same_person", do_reject_reversal, reversal=r, actor=shop.world.admin, note="no")
        approver = service_user(shop, shop.world.admin, "checker", ["finance"])
        refused("same_person", do_approve_reversal, reversal=r, actor=approver)
        assert do_approve_reversal(reversal=r, actor=shop.world.finance).status == ReversalStatus.APPROVED

    def test_a_persons_request_is_not_approved_through_their_client(self, shop):
        b = boss(shop)
        r = do_request_reversal(vend=sell(shop), actor=b, reason="wrong", token_entered=False)
        refused(
            "same_person", do_approve_reversal, reversal=r, actor=service_user(shop, b, "mine", ["finance"])
        )
        other = service_user(shop, shop.world.admin, "theirs", ["finance"])
        assert do_approve_reversal(reversal=r, actor=other).status == ReversalStatus.APPROVED

    def test_an_unknown_creator_is_any_admin_who_could_have_created_it(self, shop):
        requester = service_user(shop, shop.world.admin, "till", ["cashier"])
        ApiClient.objects.update(created_by=None)
        r = do_request_reversal(vend=sell(shop), actor=requester, reason="wrong", token_entered=False)
        e = refused("same_person", do_approve_reversal, reversal=r, actor=shop.world.admin)
        assert "no recorded creator" in e.message
        refused("same_person", do_approve_reversal, reversal=r, actor=boss(shop))
        assert do_approve_reversal(reversal=r, actor=shop.world.finance).status == ReversalStatus.APPROVED

    def test_a_wrong_role_and_an_outsider_are_refused_as_before(self, shop):
        requester = service_user(shop, shop.world.admin, "till", ["cashier"])
        r = do_request_reversal(vend=sell(shop), actor=requester, reason="wrong", token_entered=False)
        refused("forbidden", do_approve_reversal, reversal=r, actor=shop.world.clerk)
        refused("forbidden", do_approve_reversal, reversal=r, actor=shop.world.clerk_b)
