"""POST /api/vends end to end: each delivery kind, idempotency, and every refusal changing nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from prepay.audit.models import AuditEvent
from prepay.customers.choices import AccountMode, AccountStatus
from prepay.customers.models import Account
from prepay.dbcare import services
from prepay.domain.tokens.sts.meter import MeterDecoder
from prepay.meters.choices import MeterStatus
from prepay.meters.models import Meter, MeterModel
from prepay.tariffs.models import Tariff
from prepay.telemetry.models import CommandKind, MeterCommand
from prepay.tokens.models import IssuedToken
from prepay.vending import ledger
from prepay.vending.models import LedgerEntry, Receipt, Vend
from tests import factories as f
from tests.api.conftest import CTSA01_DK, Api, make_client
from tests.helpers import changes_nothing


def consistent(vend_json: dict, account: Account) -> Vend:
    """The vend's rows agree with the API's answer: ledger, receipt, audit, db check."""
    vend = Vend.objects.get(pk=vend_json["id"])
    assert (
        vend.receipt_no == vend_json["receipt_no"] and Receipt.objects.get(vend=vend).code == vend.receipt_no
    )
    entries = list(LedgerEntry.objects.filter(account=account).order_by("seq"))
    assert sum(e.amount for e in entries) == entries[-1].balance_after == ledger.balance_of(account)
    assert Decimal(vend_json["balance_after"]) == entries[-1].balance_after
    event = AuditEvent.objects.get(verb="vend.sell", object_id=str(vend.pk))
    assert event.after["receipt"] == vend.receipt_no and event.after["delivery"] == vend.delivery
    assert services.check() == []
    return vend


class VendDeliveryTestCase:
    def test_it_sells_an_sts_token_the_meter_accepts(self, shop, api):
        r = api.post("/vends", {"account_number": shop.account.number, "amount": "50"}, idem="t-1")
        assert r.status == 201, r.data
        assert r.data["delivery"] == "token" and r.data["amount"] == "50.00" and r.data["energy"] == "85.042"
        token = r.data["tokens"][0]
        assert len(token["token"]) == 20 and token["display"].replace(" ", "") == token["token"]
        vend = consistent(r.data, shop.account)
        assert api.get(f"/vends/{r.data['id']}").data == r.data  # the answer is what a read gives
        issued = IssuedToken.objects.get(vend=vend)
        assert (issued.token, issued.tid) == (token["token"], token["tid"])
        decoder = MeterDecoder(decoder_key=int(CTSA01_DK, 16), base_date=2014)
        assert decoder.enter(token["token"]).accepted and decoder.credit(0) == Decimal(
            r.data["register_units"]
        )
        assert r.data["point"] == shop.agent.code and vend.channel == "bank"

    def test_it_writes_a_card_image_for_a_card_meter(self, shop, api):
        model = MeterModel.objects.create(
            group=shop.world.a1.group,
            code="card",
            name="Card",
            kind="single_phase",
            token_system="none",
            has_keypad=False,
            has_ic_card=True,
        )
        account = f.account(shop.world.a1, meter_=f.meter(shop.world.a1, model))
        r = api.post("/vends", {"account_id": account.pk, "amount": "10.00"}, idem="c-1")
        assert r.status == 201, r.data
        assert r.data["delivery"] == "card" and r.data["tokens"] == []
        assert r.data["card"]["sequence"] == 1 and Decimal(r.data["card"]["units"]) == Decimal(
            r.data["register_units"]
        )
        vend = consistent(r.data, account)
        assert api.get(f"/vends/{r.data['id']}").data == r.data  # the answer is what a read gives
        assert vend.card.image == r.data["card"]["image"]

    def test_it_queues_a_remote_credit_for_a_networked_meter(self, shop, api):
        model = MeterModel.objects.create(
            group=shop.world.a1.group,
            code="g4",
            name="4G",
            kind="single_phase",
            token_system="none",
            has_keypad=False,
        )
        account = f.account(shop.world.a1, meter_=f.meter(shop.world.a1, model, protocol="mqtt"))
        r = api.post("/vends", {"account_id": account.pk, "energy": "20"}, idem="r-1")
        assert r.status == 201, r.data
        cmd = MeterCommand.objects.get(pk=r.data["remote_command"]["id"])
        assert r.data["delivery"] == "remote" and cmd.kind == CommandKind.CREDIT
        assert (
            Decimal(cmd.params["amount"]) == Decimal(r.data["register_units"])
            and r.data["energy"] == "20.000"
        )
        consistent(r.data, account)
        assert api.get(f"/vends/{r.data['id']}").data == r.data  # the answer is what a read gives

    def test_it_credits_a_remote_fee_control_balance(self, shop, api):
        account = shop.sts_account(mode=AccountMode.REMOTE)
        r = api.post(
            "/vends",
            {"account_id": account.pk, "amount": "30.00", "method": "online", "reference": "WX-889"},
            idem="b-1",
        )
        assert r.status == 201, r.data
        assert r.data["delivery"] == "balance" and r.data["balance_after"] == "30.00"
        assert r.data["reference"] == "WX-889" and r.data["method"] == "online"
        consistent(r.data, account)
        assert api.get(f"/vends/{r.data['id']}").data == r.data  # the answer is what a read gives
        assert api.get(f"/accounts/{account.pk}/balance").data["balance"] == "30.00"

    def test_a_cashier_sells_through_the_session_at_the_open_shift(self, shop, client):
        client.force_login(shop.world.cashier)
        r = Api(client=client).post("/vends", {"account_id": shop.account.pk, "amount": "20"}, idem="s-1")
        assert r.status == 201, r.data
        assert r.data["point"] == "c1" and Vend.objects.get().shift == shop.shift
        consistent(r.data, shop.account)


class VendIdempotencyTestCase:
    def test_a_retry_answers_the_first_vend_with_the_same_status_and_moves_no_money(self, shop, api):
        body = {"account_id": shop.account.pk, "amount": "50"}
        first = api.post("/vends", body, idem="retry-1")
        again = api.post("/vends", body | {"amount": "50.00"}, idem="retry-1")
        assert first.status == again.status == 201
        assert again.data == first.data and again.headers["Idempotent-Replayed"] == "true"
        assert Vend.objects.count() == 1 and shop.account.ledger.count() == 2
        assert IssuedToken.objects.count() == 1 and Receipt.objects.count() == 1

    def test_the_same_key_with_another_body_is_a_conflict(self, shop, api):
        api.post("/vends", {"account_id": shop.account.pk, "amount": "50"}, idem="k-2")
        with changes_nothing():
            r = api.post("/vends", {"account_id": shop.account.pk, "amount": "60"}, idem="k-2")
            r2 = api.post(
                "/vends", {"account_id": shop.account.pk, "amount": "50", "reference": "x"}, idem="k-2"
            )
        assert (r.status, r.data["code"]) == (409, "idempotency_conflict")
        assert (r2.status, r2.data["code"]) == (409, "idempotency_conflict")

    def test_a_missing_key_is_refused(self, shop, api):
        with changes_nothing():
            r = api.post("/vends", {"account_id": shop.account.pk, "amount": "50"})
        assert (r.status, r.data["code"]) == (400, "idempotency_key_required") and r.data["message"]

    def test_two_clients_using_the_same_key_never_meet(self, shop, api):
        _c, other_key = make_client(shop, scopes=["vend", "read"], name="other")
        body = {"account_id": shop.account.pk, "amount": "50"}
        a = api.post("/vends", body, idem="same")
        b = Api(other_key).post("/vends", body, idem="same")
        assert a.status == b.status == 201 and a.data["id"] != b.data["id"]


class VendRefusalTestCase:
    def refused(self, api, status, code, body=None, **kw):
        with changes_nothing():
            r = api.post("/vends", body, **kw)
        assert (r.status, r.data["code"]) == (status, code), r.data
        assert set(r.data) >= {"code", "message"} and r.data["message"]
        return r

    def test_a_closed_account(self, shop, api):
        Account.objects.filter(pk=shop.account.pk).update(status=AccountStatus.CLOSED)
        self.refused(api, 400, "account_closed", {"account_id": shop.account.pk, "amount": "5"}, idem="x")

    def test_a_faulty_meter(self, shop, api):
        Meter.objects.filter(pk=shop.meter.pk).update(status=MeterStatus.FAULTY)
        self.refused(api, 400, "meter_unusable", {"account_id": shop.account.pk, "amount": "5"}, idem="x")

    def test_an_amount_below_the_minimum(self, shop, api):
        Tariff.objects.filter(pk=shop.world.a1.tariff.pk).update(definition={"min_purchase": "10.00"})
        self.refused(api, 400, "below_minimum", {"account_id": shop.account.pk, "amount": "9.99"}, idem="x")

    def test_an_agent_over_its_limit(self, shop, api):
        self.refused(
            api, 400, "agent_over_limit", {"account_id": shop.account.pk, "amount": "1000.01"}, idem="x"
        )

    def test_the_wrong_role(self, shop):
        _c, key = make_client(shop, scopes=["vend"], roles=["auditor"], name="auditor")
        self.refused(Api(key), 403, "forbidden", {"account_id": shop.account.pk, "amount": "5"}, idem="x")

    def test_the_wrong_role_in_the_browser(self, shop, client):
        client.force_login(shop.world.clerk)
        body = {"account_id": shop.account.pk, "amount": "5", "point_id": shop.point.pk}
        self.refused(Api(client=client), 403, "forbidden", body, idem="x")

    def test_a_key_without_the_vend_scope(self, shop):
        _c, key = make_client(shop, scopes=["read", "quote"], name="lookup")
        self.refused(Api(key), 403, "scope_missing", {"account_id": shop.account.pk, "amount": "5"}, idem="x")

    def test_another_sites_account_is_not_found(self, shop, api):
        other = f.account(shop.world.a2, meter_=f.meter(shop.world.a2))
        r = self.refused(api, 404, "not_found", {"account_id": other.pk, "amount": "5"}, idem="x")
        assert other.number not in r.data["message"]

    @pytest.mark.parametrize("account_id", [2**63, 10**30, -(2**64)])
    def test_an_account_id_no_column_holds_is_not_found(self, shop, api, account_id):
        self.refused(api, 404, "not_found", {"account_id": account_id, "amount": "5"}, idem="x")

    def test_another_groups_account_is_not_found(self, shop, api):
        other = f.account(shop.world.b1, meter_=f.meter(shop.world.b1))
        self.refused(api, 404, "not_found", {"account_number": other.number, "amount": "5"}, idem="x")

    def test_a_body_that_does_not_fit_the_schema(self, shop, api):
        r = self.refused(api, 422, "invalid_request", {"account_id": "abc", "amount": "5"}, idem="x")
        assert r.data["errors"][0]["loc"][-1] == "account_id"

    def test_no_amount_and_no_energy(self, shop, api):
        self.refused(api, 400, "amount_or_energy", {"account_id": shop.account.pk}, idem="x")

    def test_a_transfer_without_a_reference(self, shop, api):
        body = {"account_id": shop.account.pk, "amount": "5", "method": "transfer"}
        self.refused(api, 400, "reference_required", body, idem="x")

    def test_a_message_in_chinese_when_asked(self, shop):
        _c, key = make_client(shop, scopes=["vend"], roles=["auditor"], name="auditor")
        r = self.refused(
            Api(key),
            403,
            "forbidden",
            {"account_id": shop.account.pk, "amount": "5"},
            idem="x",
            lang="zh-Hans",
        )
        assert "您无权" in r.data["message"]
        english = Api(key).post("/vends", {"account_id": shop.account.pk, "amount": "5"}, idem="x", lang="en")
        assert "not allowed" in english.data["message"]
