"""The WeChat Pay API v3 adapter against its published rules, with test keys and certificates made
here: notification signatures (platform certificate by serial, valid now; or a public key by id),
AES-256-GCM resources, and signed requests to a local stand-in for api.mch.weixin.qq.com whose
answers are checked too. Nothing reaches WeChat Pay."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from django.utils import timezone

from prepay.common.errors import ActionError
from prepay.payments import crypto
from prepay.payments.adapters.base import NotificationRefused
from prepay.payments.adapters.simulated import SimulatedWallet
from prepay.payments.adapters.wechat import WeChatPayAdapter
from prepay.payments.credentials import Secrets

APIV3 = "0123456789abcdefghijklmnopqrstuv"


def _expired_certificate(key) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "old platform")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=800))
        .not_valid_after(now - timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture
def wx():
    platform, merchant = crypto.new_rsa_key(), crypto.new_rsa_key()
    config = {
        "mchid": "1900000109",
        "appid": "wxd678efh567hg6787",
        "merchant_serial": "5157F09EFDC096DE15EBE81A47057A72",
        "platform_certificates": [crypto.self_signed_certificate(platform, "Tenpay.com Root CA test")],
    }
    values = {
        "apiv3_key": APIV3,
        "private_key": crypto.private_pem(merchant),
        "platform_private_key": crypto.private_pem(platform),
    }
    provider = SimpleNamespace(config=config, kind="wechat", code="wx")
    adapter = WeChatPayAdapter(provider, Secrets(values))
    wallet = SimulatedWallet(provider, Secrets(values))
    return SimpleNamespace(
        adapter=adapter, wallet=wallet, platform=platform, merchant=merchant, provider=provider
    )


def _order(number="P20260612153000ABCDEF01", amount="50.00"):
    account = SimpleNamespace(number="A0000012")
    return SimpleNamespace(
        number=number,
        amount=Decimal(amount),
        paid_amount=None,
        account=account,
        expires_at=timezone.now() + timedelta(minutes=30),
    )


class WeChatPayAdapterTestCase:
    def test_it_reads_a_genuine_notification(self, wx):
        headers, body = wx.wallet.notification(wx.wallet.transaction(_order(), transaction_id="4200000001"))
        notice = wx.adapter.verify(headers, body, now=timezone.now())
        assert notice.paid and notice.state == "SUCCESS" and notice.amount == Decimal("50.00")
        assert notice.out_trade_no == "P20260612153000ABCDEF01" and notice.provider_trade_no == "4200000001"
        assert notice.paid_at is not None and notice.merchant == "1900000109"

    def test_header_names_are_read_in_any_case(self, wx):
        headers, body = wx.wallet.notification(wx.wallet.transaction(_order()))
        lower = {k.lower(): v for k, v in headers.items()}
        assert wx.adapter.verify(lower, body, now=timezone.now()).paid

    def test_it_refuses_a_signature_probe_and_a_wrong_key(self, wx):
        headers, body = wx.wallet.notification(wx.wallet.transaction(_order()))
        probe = {**headers, "Wechatpay-Signature": "WECHATPAY/SIGNTEST/abc"}
        with pytest.raises(NotificationRefused) as exc:
            wx.adapter.verify(probe, body, now=timezone.now())
        assert exc.value.code == "bad_signature"
        stamp, nonce = headers["Wechatpay-Timestamp"], headers["Wechatpay-Nonce"]
        signed_by_merchant = crypto.rsa_sign(wx.merchant, f"{stamp}\n{nonce}\n".encode() + body + b"\n")
        with pytest.raises(NotificationRefused):
            wx.adapter.verify(
                {**headers, "Wechatpay-Signature": signed_by_merchant}, body, now=timezone.now()
            )

    def test_it_refuses_an_expired_platform_certificate(self, wx):
        old = _expired_certificate(wx.platform)
        wx.adapter.config["platform_certificates"] = [old]
        wx.wallet.config["platform_certificates"] = [old]
        headers, body = wx.wallet.notification(wx.wallet.transaction(_order()))
        with pytest.raises(NotificationRefused) as exc:
            wx.adapter.verify(headers, body, now=timezone.now())
        assert exc.value.code == "certificate_expired"

    def test_it_accepts_a_wechat_pay_public_key_by_id(self, wx):
        wx.adapter.config = {
            **wx.adapter.config,
            "platform_certificates": [],
            "public_keys": {"PUB_KEY_ID_0114": crypto.public_pem(wx.platform)},
        }
        headers, body = wx.wallet.notification(wx.wallet.transaction(_order()))
        headers["Wechatpay-Serial"] = "PUB_KEY_ID_0114"
        assert wx.adapter.verify(headers, body, now=timezone.now()).paid

    def test_it_refuses_a_resource_sealed_with_another_key(self, wx):
        other = SimulatedWallet(wx.provider, Secrets({**wx.wallet.values, "apiv3_key": "x" * 32}))
        headers, body = other.notification(other.transaction(_order()))
        with pytest.raises(NotificationRefused) as exc:
            wx.adapter.verify(headers, body, now=timezone.now())
        assert exc.value.code == "undecryptable"

    def test_a_refund_notification_is_not_a_payment(self, wx):
        resource = {
            "mchid": "1900000109",
            "out_trade_no": "P1",
            "transaction_id": "42",
            "refund_status": "SUCCESS",
            "amount": {"total": 5000, "refund": 5000},
        }
        headers, body = wx.wallet.notification(resource, event_type="REFUND.SUCCESS")
        notice = wx.adapter.verify(headers, body, now=timezone.now())
        assert not notice.paid and notice.state == "REFUND:SUCCESS"

    def test_it_places_a_native_order_with_a_signed_request_and_checks_the_answer(self, wx, provider_api):
        url, handler = provider_api

        def reply(path, headers, body):
            answer = b'{"code_url":"weixin://wxpay/bizpayurl?pr=p4lpSuKzz"}'
            return 200, {"Content-Type": "application/json", **wx.wallet.sign(answer)}, answer

        handler.reply = staticmethod(reply)
        wx.adapter.config["api_base"] = url
        checkout = wx.adapter.checkout(
            _order(), notify_url="https://pay.example.cn/payments/notify/1/", return_url=""
        )
        assert checkout.kind == "qr" and checkout.url.startswith("weixin://wxpay/")
        path, headers, body = handler.received[0]
        assert path == "/v3/pay/transactions/native"
        sent = json.loads(body)
        assert sent["amount"] == {"total": 5000, "currency": "CNY"} and sent["mchid"] == "1900000109"
        auth = headers["Authorization"]
        fields = dict(re.findall(r'(\w+)="([^"]*)"', auth))
        assert (
            auth.startswith("WECHATPAY2-SHA256-RSA2048 ")
            and fields["serial_no"] == "5157F09EFDC096DE15EBE81A47057A72"
        )
        message = f"POST\n{path}\n{fields['timestamp']}\n{fields['nonce_str']}\n".encode() + body + b"\n"
        assert crypto.rsa_verify(wx.merchant.public_key(), message, fields["signature"])

    def test_an_answer_with_a_forged_signature_is_refused(self, wx, provider_api):
        url, handler = provider_api
        forger = crypto.new_rsa_key()

        def reply(path, headers, body):
            answer = b'{"code_url":"weixin://evil"}'
            stamp, nonce = str(int(timezone.now().timestamp())), "N" * 32
            signature = crypto.rsa_sign(forger, f"{stamp}\n{nonce}\n".encode() + answer + b"\n")
            serial = crypto.certificate_serial(wx.adapter.config["platform_certificates"][0])
            return (
                200,
                {
                    "Wechatpay-Timestamp": stamp,
                    "Wechatpay-Nonce": nonce,
                    "Wechatpay-Signature": signature,
                    "Wechatpay-Serial": serial,
                },
                answer,
            )

        handler.reply = staticmethod(reply)
        wx.adapter.config["api_base"] = url
        with pytest.raises(ActionError) as exc:
            wx.adapter.checkout(_order(), notify_url="https://x/", return_url="")
        assert exc.value.code == "provider_refused"

    def test_it_refunds_through_the_api(self, wx, provider_api):
        url, handler = provider_api

        def reply(path, headers, body):
            answer = b'{"refund_id":"50300908092018010222222222","status":"PROCESSING"}'
            return 200, wx.wallet.sign(answer), answer

        handler.reply = staticmethod(reply)
        wx.adapter.config["api_base"] = url
        ref = wx.adapter.refund(_order(), refund_no="R1", reason="account closed")
        assert ref == "50300908092018010222222222"
        path, _headers, body = handler.received[0]
        assert path == "/v3/refund/domestic/refunds" and json.loads(body)["amount"]["refund"] == 5000

    def test_an_unreachable_provider_is_a_clear_refusal(self, wx):
        wx.adapter.config["api_base"] = "http://127.0.0.1:9"
        with pytest.raises(ActionError) as exc:
            wx.adapter.checkout(_order(), notify_url="https://x/", return_url="")
        assert exc.value.code == "provider_unreachable" and "nothing was changed" in str(exc.value)
