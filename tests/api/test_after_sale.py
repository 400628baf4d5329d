"""After the sale: receipts, re-print, token re-issue, reversals, refunds and agent floats."""

from __future__ import annotations

from decimal import Decimal

from django.test import Client

from prepay.audit.models import AuditEvent
from prepay.dbcare import services
from prepay.tokens.models import IssuedToken
from prepay.vending import ledger
from prepay.vending.models import Reversal, ReversalStatus, Vend, VendStatus
from tests.api.conftest import Api, make_client
from tests.helpers import changes_nothing


def sold(api, shop, amount="50", key="v-1"):
    r = api.post("/vends", {"account_id": shop.account.pk, "amount": amount}, idem=key)
    assert r.status == 201, r.data
    return r.data


def session(client, user) -> Api:
    client.force_login(user)
    return Api(client=client)


class ReceiptTestCase:
    def test_it_shows_and_reprints_a_receipt(self, shop, api):
        vend = sold(api, shop)
        r = api.get(f"/receipts/{vend['receipt_no']}")
        assert r.status == 200 and r.data["vend_id"] == vend["id"] and r.data["prints"] == 0
        assert r.data["links"]["pdf"] == f"/r/{vend['receipt_no']}/pdf/"
        again = api.post(f"/receipts/{vend['receipt_no']}/reprint")
        assert again.status == 200 and again.data["prints"] == 1
        assert AuditEvent.objects.filter(verb="receipt.reprint").count() == 1

    def test_another_sites_receipt_is_not_found(self, shop, api, client):
        vend = sold(api, shop)
        outsider = session(client, shop.world.clerk_a2)
        assert outsider.get(f"/receipts/{vend['receipt_no']}").status == 404
        with changes_nothing():
            assert outsider.post(f"/receipts/{vend['receipt_no']}/reprint").status == 404


class ReissueTestCase:
    def test_it_gives_the_same_token_again(self, shop, api):
        vend = sold(api, shop)
        r = api.post(f"/vends/{vend['id']}/reissue")
        assert r.status == 200 and r.data == vend["tokens"]
        assert IssuedToken.objects.count() == 1

    def test_a_vend_without_a_token_is_refused(self, shop, api):
        account = shop.sts_account(mode="remote")
        v = api.post("/vends", {"account_id": account.pk, "amount": "5"}, idem="b").data
        with changes_nothing():
            r = api.post(f"/vends/{v['id']}/reissue")
        assert (r.status, r.data["code"]) == (400, "no_token")

    def test_it_reads_a_vend(self, shop, api):
        vend = sold(api, shop)
        assert api.get(f"/vends/{vend['id']}").data == vend


class ReversalTestCase:
    def test_a_requested_reversal_is_approved_by_finance(self, shop, api, client):
        vend = sold(api, shop)
        body = {"reason": "wrong account", "token_entered": False}
        r = api.post(f"/vends/{vend['id']}/reversal", body, idem="rev-1")
        assert r.status == 201 and r.data["status"] == "requested", r.data
        assert api.post(f"/vends/{vend['id']}/reversal", body, idem="rev-1").data["id"] == r.data["id"]
        finance = session(client, shop.world.finance)
        ok = finance.post(f"/reversals/{r.data['id']}/approve", {"note": "checked"})
        assert ok.status == 200 and ok.data["status"] == "approved" and ok.data["decided_by"] == "finance_a"
        retry = finance.post(f"/reversals/{r.data['id']}/approve", {"note": "checked"})
        assert retry.status == 200 and retry.data == ok.data
        assert Vend.objects.get().status == VendStatus.REVERSED
        assert ledger.balance_of(shop.account) == Decimal("0.00")
        assert services.check() == []
        other = finance.post(f"/reversals/{r.data['id']}/reject", {"note": "no"})
        assert (other.status, other.data["code"]) == (409, "already_decided")

    def test_a_reversal_needs_the_scope_and_a_key(self, shop, api):
        vend = sold(api, shop)
        body = {"reason": "x", "token_entered": False}
        _c, key = make_client(shop, scopes=["vend"], name="seller")
        with changes_nothing():
            r = Api(key).post(f"/vends/{vend['id']}/reversal", body, idem="r")
            missing = api.post(f"/vends/{vend['id']}/reversal", body)
        assert (r.status, r.data["code"]) == (403, "scope_missing")
        assert (missing.status, missing.data["code"]) == (400, "idempotency_key_required")

    def test_nobody_approves_their_own_request(self, shop, api, client):
        vend = sold(api, shop)
        clerk = session(client, shop.world.clerk)
        r = clerk.post(f"/vends/{vend['id']}/reversal", {"reason": "x", "token_entered": False}, idem="r")
        assert r.status == 201
        with changes_nothing():
            own = clerk.post(f"/reversals/{r.data['id']}/approve", {})
        assert (own.status, own.data["code"]) == (403, "forbidden")  # a clerk has no approve right
        _c, key = make_client(shop, scopes=["approve"], roles=["finance"], name="fin", point=None)
        scoped = Api(key).post(f"/reversals/{r.data['id']}/reject", {"note": "no"})
        assert scoped.status == 200 and scoped.data["status"] == "rejected"

    def test_an_approver_cannot_approve_their_own_refund(self, shop, api, client):
        account = shop.sts_account(mode="remote")
        assert api.post("/vends", {"account_id": account.pk, "amount": "30"}, idem="b").status == 201
        admin = session(client, shop.world.admin)
        _c, key = make_client(shop, scopes=["reversal", "approve"], roles=["clerk", "finance"], name="both")
        both = Api(key)
        r = both.post(
            "/refunds",
            {"account_id": account.pk, "amount": "30", "reason": "leaving"},
            idem="ref-1",
        )
        assert r.status == 201 and r.data["kind"] == "refund", r.data
        with changes_nothing():
            own = both.post(f"/reversals/{r.data['id']}/approve", {})
        assert (own.status, own.data["code"]) == (400, "own_request")
        with changes_nothing():
            creator = admin.post(f"/reversals/{r.data['id']}/approve", {})
        assert (creator.status, creator.data["code"]) == (400, "same_person")  # the admin created "both"
        finance = Api(client=Client())
        finance.http.force_login(shop.world.finance)
        assert finance.post(f"/reversals/{r.data['id']}/approve", {}).data["status"] == "approved"
        assert ledger.balance_of(account) == Decimal("0.00")
        assert services.check() == []
        assert Reversal.objects.get().status == ReversalStatus.APPROVED

    def test_a_refund_above_the_balance_is_refused(self, shop, api):
        with changes_nothing():
            r = api.post("/refunds", {"account_id": shop.account.pk, "amount": "5", "reason": "x"}, idem="f")
        assert (r.status, r.data["code"]) == (400, "exceeds_balance")

    def test_another_sites_reversal_is_not_found(self, shop, api, client):
        vend = sold(api, shop)
        r = api.post(f"/vends/{vend['id']}/reversal", {"reason": "x", "token_entered": False}, idem="r")
        outsider = session(client, shop.world.clerk_b)
        assert outsider.get(f"/reversals/{r.data['id']}").status == 404
        assert api.get(f"/reversals/{r.data['id']}").data["reason"] == "x"


class AgentFloatTestCase:
    def test_an_agent_sees_its_float_and_finance_tops_it_up(self, shop, api, client):
        sold(api, shop, amount="100")
        r = api.get(f"/points/{shop.agent.pk}/float")
        assert r.status == 200 and r.data["balance"] == "900.00" and r.data["available"] == "900.00"
        finance = session(client, shop.world.finance)
        up = finance.post(f"/points/{shop.agent.pk}/float/topups", {"amount": "50"}, idem="top-1")
        assert up.status == 201 and up.data["balance"] == "950.00"
        again = finance.post(f"/points/{shop.agent.pk}/float/topups", {"amount": "50.00"}, idem="top-1")
        assert again.status == 201 and again.data["balance"] == "950.00"
        conflict = finance.post(f"/points/{shop.agent.pk}/float/topups", {"amount": "60"}, idem="top-1")
        assert (conflict.status, conflict.data["code"]) == (409, "idempotency_conflict")
        assert services.check() == []

    def test_a_cashier_cannot_top_up(self, shop, client):
        cashier = session(client, shop.world.cashier)
        with changes_nothing():
            r = cashier.post(f"/points/{shop.agent.pk}/float/topups", {"amount": "50"}, idem="t")
        assert (r.status, r.data["code"]) == (403, "forbidden")

    def test_an_api_client_needs_the_float_scope(self, shop, api):
        with changes_nothing():
            r = api.post(f"/points/{shop.agent.pk}/float/topups", {"amount": "50"}, idem="t")
        assert (r.status, r.data["code"]) == (403, "scope_missing")
