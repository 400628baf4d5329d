"""Adjustments: nobody decides an adjustment requested by themself through an API client they
created, or their own request through such a client (``same_person``)."""

from __future__ import annotations

from typing import Any

from prepay.api.actions import do_create_api_client
from prepay.tenancy.choices import Role
from prepay.vending.actions import do_approve_adjustment, do_reject_adjustment, do_request_adjustment
from prepay.vending.models import AdjustmentStatus
from tests import factories as f
from tests.helpers import refused


def service_user(shop: Any, creator: Any, name: str, roles: list[str]) -> Any:
    w = shop.world
    client, _key = do_create_api_client(
        group=w.a1.group, site=w.a1.site, name=name, scopes=["read"], roles=roles, actor=creator
    )
    return client.user


def adjust(shop: Any, actor: Any) -> Any:
    return do_request_adjustment(account=shop.account, actor=actor, reason="outage", energy="5")


class AdjustmentSamePersonTestCase:
    def test_the_clients_creator_cannot_decide_it(self, shop):
        adj = adjust(shop, service_user(shop, shop.world.admin, "clerkbot", ["clerk"]))
        refused("same_person", do_approve_adjustment, adjustment=adj, actor=shop.world.admin)
        refused("same_person", do_reject_adjustment, adjustment=adj, actor=shop.world.admin, note="no")
        approver = service_user(shop, shop.world.admin, "checker", ["finance"])
        refused("same_person", do_approve_adjustment, adjustment=adj, actor=approver)
        assert (
            do_approve_adjustment(adjustment=adj, actor=shop.world.finance).status
            == AdjustmentStatus.APPROVED
        )

    def test_a_persons_request_is_not_decided_through_their_client(self, shop):
        w = shop.world
        b = f.user("boss", memberships=[(w.a1.group, None, Role.ADMIN), (w.a1.group, w.a1.site, Role.CLERK)])
        adj = adjust(shop, b)
        refused(
            "same_person",
            do_approve_adjustment,
            adjustment=adj,
            actor=service_user(shop, b, "mine", ["finance"]),
        )
        assert (
            do_reject_adjustment(adjustment=adj, actor=w.finance, note="no").status
            == AdjustmentStatus.REJECTED
        )

    def test_a_wrong_role_and_an_outsider_are_refused_as_before(self, shop):
        adj = adjust(shop, service_user(shop, shop.world.admin, "clerkbot", ["clerk"]))
        refused("forbidden", do_approve_adjustment, adjustment=adj, actor=shop.world.clerk)
        refused("forbidden", do_approve_adjustment, adjustment=adj, actor=shop.world.clerk_b)
