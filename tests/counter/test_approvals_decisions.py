"""The counter's decision URLs (``approvals/<pk>/<decision>/``, ``adjustments/<pk>/<decision>/``):
only approve and reject are decisions, anything else is a 400 that decides nothing; a decision by the
person behind the request (through an API client they created) is refused as ``same_person``."""

from __future__ import annotations

from typing import Any

import pytest

from prepay.api.actions import do_create_api_client
from prepay.tenancy.choices import Role
from prepay.vending.actions import do_request_adjustment, do_request_reversal, do_vend
from prepay.vending.models import Adjustment, AdjustmentStatus, Reversal, ReversalStatus, VendStatus
from tests import factories as f
from tests.counter.conftest import client_for
from tests.helpers import changes_nothing

WORDS = ["approved", "REJECT", "delete", "rejected", "yes", "0"]


def reversal(shop: Any, actor: Any = None) -> Reversal:
    vend = do_vend(
        account=shop.account, actor=shop.world.cashier, point=shop.point, idempotency_key="s", amount="20"
    )
    return do_request_reversal(
        vend=vend, actor=actor or shop.world.cashier, reason="wrong", token_entered=False
    )


def adjustment(shop: Any, actor: Any = None) -> Adjustment:
    return do_request_adjustment(
        account=shop.account, actor=actor or shop.world.clerk, reason="outage", energy="5"
    )


class UnknownDecisionTestCase:
    @pytest.mark.parametrize("word", WORDS)
    def test_it_refuses_an_unknown_word_for_a_reversal(self, shop: Any, word: str) -> None:
        r = reversal(shop)
        with changes_nothing():
            resp = client_for(shop.world.finance).post(f"/counter/approvals/{r.pk}/{word}/", {"note": "x"})
        assert resp.status_code == 400
        assert (
            f"Unknown decision {word}: use approve or reject. Nothing was decided." in resp.content.decode()
        )
        r.refresh_from_db()
        assert r.status == ReversalStatus.REQUESTED and r.vend.status == VendStatus.PENDING_APPROVAL

    @pytest.mark.parametrize("word", WORDS)
    def test_it_refuses_an_unknown_word_for_an_adjustment(self, shop: Any, word: str) -> None:
        adj = adjustment(shop)
        with changes_nothing():
            resp = client_for(shop.world.finance).post(
                f"/counter/adjustments/{adj.pk}/{word}/", {"note": "x"}
            )
        assert resp.status_code == 400 and "Unknown decision" in resp.content.decode()
        adj.refresh_from_db()
        assert adj.status == AdjustmentStatus.REQUESTED

    def test_it_says_so_in_chinese(self, shop: Any) -> None:
        r = reversal(shop)
        resp = client_for(shop.world.finance, "zh-hans").post(f"/counter/approvals/{r.pk}/nope/")
        assert resp.status_code == 400 and "未知的审批决定 nope" in resp.content.decode()

    def test_the_known_words_still_decide(self, shop: Any) -> None:
        r, adj = reversal(shop), adjustment(shop)
        c = client_for(shop.world.finance)
        assert c.post(f"/counter/approvals/{r.pk}/reject/", {"note": "no"}).status_code == 302
        assert c.post(f"/counter/adjustments/{adj.pk}/approve/", {"note": "ok"}).status_code == 302
        r.refresh_from_db()
        adj.refresh_from_db()
        assert (r.status, adj.status) == (ReversalStatus.REJECTED, AdjustmentStatus.APPROVED)

    def test_a_wrong_role_gets_403_and_an_outsider_404(self, shop: Any) -> None:
        r, adj = reversal(shop), adjustment(shop)
        with changes_nothing():
            for path in (f"/counter/approvals/{r.pk}/nope/", f"/counter/adjustments/{adj.pk}/nope/"):
                assert client_for(shop.world.clerk).post(path).status_code == 403
                assert client_for(shop.world.clerk_b).post(path).status_code == 404


class SamePersonAtTheCounterTestCase:
    def boss(self, shop: Any) -> Any:
        """An admin who is also a clerk and cashier at A1, and whose API client requests reversals."""
        w = shop.world
        return f.user(
            "boss",
            memberships=[
                (w.a1.group, None, Role.ADMIN),
                (w.a1.group, w.a1.site, Role.CLERK),
                (w.a1.group, w.a1.site, Role.CASHIER),
            ],
        )

    def client_of(self, shop: Any, creator: Any, name: str) -> Any:
        """The service user of a new API client created by ``creator``."""
        w = shop.world
        client, _key = do_create_api_client(
            group=w.a1.group, site=w.a1.site, name=name, scopes=["reversal"], roles=["clerk"], actor=creator
        )
        return client.user

    def test_the_creator_cannot_decide_a_request_made_through_their_client(self, shop: Any) -> None:
        boss = self.boss(shop)
        r = reversal(shop, actor=self.client_of(shop, boss, "bosskey"))
        adj = adjustment(shop, actor=self.client_of(shop, boss, "bossadj"))
        c = client_for(boss)
        with changes_nothing():
            one = c.post(f"/counter/approvals/{r.pk}/approve/", {"note": ""}, follow=True)
            two = c.post(f"/counter/adjustments/{adj.pk}/reject/", {"note": "no"}, follow=True)
        for resp in (one, two):
            assert "come from the same person (boss)" in resp.content.decode()
        r.refresh_from_db()
        adj.refresh_from_db()
        assert (r.status, adj.status) == (ReversalStatus.REQUESTED, AdjustmentStatus.REQUESTED)
        assert (
            client_for(shop.world.finance)
            .post(f"/counter/approvals/{r.pk}/approve/", {"note": ""})
            .status_code
            == 302
        )
        r.refresh_from_db()
        assert r.status == ReversalStatus.APPROVED
