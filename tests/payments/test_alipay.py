"""The Alipay adapter (RSA2) against its published rules, with test keys made here: notification
signatures over the sorted parameters, the app check, a notification through the endpoint that sells
once, the signed wap-pay address, and a refund whose answer's signature is checked. Nothing reaches
Alipay."""

from __future__ import annotations

import json
import urllib.parse
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from prepay.common.errors import ActionError
from prepay.payments import crypto
from prepay.payments.actions import do_add_provider
from prepay.payments.adapters.alipay import AlipayAdapter, signing_text
from prepay.payments.adapters.base import NotificationRefused
from prepay.payments.choices import OrderStatus
from prepay.payments.credentials import Secrets
from prepay.vending.models import Vend
from tests.payments.conftest import add_online_point


@pytest.fixture
def ali():
    alipay, app = crypto.new_rsa_key(), crypto.new_rsa_key()
    # Alipay hands its public key out as bare base64, without PEM lines
    bare = "".join(crypto.public_pem(alipay).strip().splitlines()[1:-1])
    config = {"app_id": "2021000000000001", "alipay_public_key": bare, "seller_id": "2088000000000001"}
    provider = SimpleNamespace(config=config, kind="alipay", code="ali")
    return SimpleNamespace(
        adapter=AlipayAdapter(provider, Secrets({"private_key": crypto.private_pem(app)})),
        alipay=alipay,
        app=app,
        config=config,
    )


def notification(ali, **changes) -> bytes:
    """A form body as Alipay posts it, signed with the (test) Alipay private key."""
    params = {
        "notify_time": "2026-06-12 15:31:02",
        "notify_type": "trade_status_sync",
        "notify_id": "ac05099524730693a8b330c45cf72da943",
        "charset": "utf-8",
        "version": "1.0",
        "sign_type": "RSA2",
        "app_id": ali.config["app_id"],
        "seller_id": "2088000000000001",
        "trade_no": "2026061222001499999999999999",
        "out_trade_no": "P1",
        "trade_status": "TRADE_SUCCESS",
        "total_amount": "50.00",
        "receipt_amount": "50.00",
        "gmt_payment": "2026-06-12 15:31:01",
        "subject": "预付费 A0000012",
        "body": "",
    }
    params.update(changes)
    params["sign"] = crypto.rsa_sign(ali.alipay, signing_text(params, exclude=("sign", "sign_type")).encode())
    return urllib.parse.urlencode(params).encode()


class AlipayAdapterTestCase:
    def test_it_reads_a_genuine_notification(self, ali):
        notice = ali.adapter.verify({}, notification(ali), now=timezone.now())
        assert notice.paid and notice.amount == Decimal("50.00") and notice.out_trade_no == "P1"
        assert notice.provider_trade_no == "2026061222001499999999999999" and notice.paid_at.hour == 15

    def test_it_refuses_a_changed_amount_and_a_forged_sign(self, ali):
        body = notification(ali).replace(b"total_amount=50.00", b"total_amount=5000.00")
        with pytest.raises(NotificationRefused) as exc:
            ali.adapter.verify({}, body, now=timezone.now())
        assert exc.value.code == "bad_signature"
        params = dict(urllib.parse.parse_qsl(notification(ali).decode()))
        params["sign"] = crypto.rsa_sign(
            ali.app, signing_text(params, exclude=("sign", "sign_type")).encode()
        )
        with pytest.raises(NotificationRefused):
            ali.adapter.verify({}, urllib.parse.urlencode(params).encode(), now=timezone.now())

    def test_it_refuses_another_app_and_a_doubled_parameter(self, ali):
        with pytest.raises(NotificationRefused) as exc:
            ali.adapter.verify({}, notification(ali, app_id="2021999999999999"), now=timezone.now())
        assert exc.value.code == "wrong_merchant"
        with pytest.raises(NotificationRefused) as exc:
            ali.adapter.verify({}, notification(ali) + b"&total_amount=0.01", now=timezone.now())
        assert exc.value.code == "malformed"

    def test_waiting_and_closed_trades_are_not_payments(self, ali):
        for state in ("WAIT_BUYER_PAY", "TRADE_CLOSED"):
            assert not ali.adapter.verify({}, notification(ali, trade_status=state), now=timezone.now()).paid
        assert ali.adapter.verify(
            {}, notification(ali, trade_status="TRADE_FINISHED"), now=timezone.now()
        ).paid

    def test_the_wap_pay_address_is_signed(self, ali):
        order = SimpleNamespace(
            number="P2",
            amount=Decimal("20.00"),
            account=SimpleNamespace(number="A1"),
            expires_at=timezone.now() + timedelta(minutes=30),
        )
        checkout = ali.adapter.checkout(
            order, notify_url="https://pay.example.cn/n/", return_url="https://pay.example.cn/r/"
        )
        assert checkout.kind == "redirect" and checkout.url.startswith(
            "https://openapi.alipay.com/gateway.do?"
        )
        params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(checkout.url).query))
        assert (
            params["method"] == "alipay.trade.wap.pay"
            and json.loads(params["biz_content"])["total_amount"] == "20.00"
        )
        assert crypto.rsa_verify(ali.app.public_key(), signing_text(params).encode(), params["sign"])

    def test_it_refunds_and_checks_the_answers_signature(self, ali, provider_api):
        url, handler = provider_api
        inner = '{"code":"10000","msg":"Success","trade_no":"2026061222001499999999999999","out_trade_no":"P1","fund_change":"Y","refund_fee":"50.00"}'

        def reply(path, headers, body):
            sign = crypto.rsa_sign(ali.alipay, inner.encode())
            return (
                200,
                {"Content-Type": "application/json"},
                f'{{"alipay_trade_refund_response":{inner},"sign":"{sign}"}}'.encode(),
            )

        handler.reply = staticmethod(reply)
        ali.adapter.config["gateway"] = url + "/gateway.do"
        order = SimpleNamespace(number="P1", amount=Decimal("50.00"), paid_amount=Decimal("50.00"))
        assert ali.adapter.refund(order, refund_no="R1", reason="closed") == "2026061222001499999999999999"
        sent = dict(urllib.parse.parse_qsl(handler.received[0][2].decode()))
        assert sent["method"] == "alipay.trade.refund" and crypto.rsa_verify(
            ali.app.public_key(), signing_text(sent).encode(), sent["sign"]
        )

        def forged(path, headers, body):
            return (
                200,
                {},
                f'{{"alipay_trade_refund_response":{inner},"sign":"{crypto.rsa_sign(ali.app, inner.encode())}"}}'.encode(),
            )

        handler.reply = staticmethod(forged)
        with pytest.raises(ActionError) as exc:
            ali.adapter.refund(order, refund_no="R1", reason="closed")
        assert exc.value.code == "provider_refused"


class AlipayNotificationTestCase:
    def test_a_genuine_notification_through_the_endpoint_sells_once(self, ali, pay):
        point = add_online_point(pay.shop.world.a1.site, "ali")
        provider = do_add_provider(
            group=point.site.group,
            code="ali",
            name="Alipay",
            kind="alipay",
            point=point,
            config=ali.config,
            secret_values={"private_key": crypto.private_pem(ali.app)},
            actor=pay.shop.world.admin,
        )
        from prepay.payments.actions import do_create_order
        from prepay.portal.actions import CustomerActor

        acc = pay.shop.account
        order = do_create_order(
            account=acc, provider=provider, amount="50", actor=CustomerActor(acc.customer)
        )
        body = notification(ali, out_trade_no=order.number)
        for _ in range(2):
            r = pay.http.post(
                f"/payments/notify/{provider.pk}/",
                data=body,
                content_type="application/x-www-form-urlencoded",
            )
            assert r.status_code == 200 and r.content == b"success"
        order.refresh_from_db()
        assert order.status == OrderStatus.SOLD and Vend.objects.count() == 1
        forged = body.replace(b"50.00", b"5.00")
        r = pay.http.post(
            f"/payments/notify/{provider.pk}/", data=forged, content_type="application/x-www-form-urlencoded"
        )
        assert r.status_code == 400 and r.content == b"failure"
