"""The simulated provider: WeChat Pay's wire format end to end, with both sides in Prepay.

The merchant side *is* :class:`WeChatPayAdapter` (the same signature, certificate, timestamp and
decryption checks), so the demo and the tests exercise the real verification path. The provider side,
:class:`SimulatedWallet`, holds the simulated platform's private key and the APIv3 key and writes
notifications the way WeChat Pay does: an ``AEAD_AES_256_GCM`` resource inside a JSON envelope signed
with SHA256withRSA over ``timestamp\\nnonce\\nbody\\n``. Its checkout is a page of our own
(``/payments/sim/<order>/``) standing in for the wallet app; refunds succeed at once.

It moves no real money: a simulated provider only works where ``PREPAY_PAYMENTS_SIMULATOR=1`` (see
prepay/payments/conf.py), so one configured by mistake in production sells nothing.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.urls import reverse

from prepay.payments import crypto
from prepay.payments.adapters.base import Checkout
from prepay.payments.adapters.wechat import BEIJING, WeChatPayAdapter, fen
from prepay.payments.credentials import Secrets


def new_credentials(name: str = "Prepay simulated provider") -> tuple[dict[str, Any], dict[str, str]]:
    """Fresh settings and secrets for a simulated provider: a platform key pair with its certificate,
    a merchant key and an APIv3 key, all random."""
    platform = crypto.new_rsa_key()
    merchant = crypto.new_rsa_key()
    config = {
        "mchid": "1900000001",
        "appid": "wxsimulated0000001",
        "merchant_serial": "SIMULATED",
        "platform_certificates": [crypto.self_signed_certificate(platform, name)],
    }
    values = {
        "apiv3_key": crypto.nonce_text(32),
        "private_key": crypto.private_pem(merchant),
        "platform_private_key": crypto.private_pem(platform),
    }
    return config, values


class SimulatedAdapter(WeChatPayAdapter):
    """The merchant side of the simulated provider (WeChat Pay's checks; no network)."""

    kind = "simulated"

    def checkout(self, order: Any, *, notify_url: str, return_url: str) -> Checkout:
        return Checkout("redirect", reverse("payments:simulated", args=[order.number]))

    def refund(self, order: Any, *, refund_no: str, reason: str) -> str:
        return f"SIMREFUND{secrets.token_hex(8).upper()}"


class SimulatedWallet:
    """The provider side: signs notifications as WeChat Pay would (tests use it to forge too)."""

    def __init__(self, provider: Any, values: Secrets) -> None:
        self.config: dict[str, Any] = dict(provider.config or {})
        self.values = values

    @property
    def serial(self) -> str:
        return crypto.certificate_serial(self.config["platform_certificates"][0])

    def transaction(
        self, order: Any, *, amount: Decimal | None = None, state: str = "SUCCESS", transaction_id: str = ""
    ) -> dict[str, Any]:
        """The decrypted resource WeChat Pay would send for ``order``."""
        now = datetime.now(BEIJING)
        return {
            "appid": self.config.get("appid", ""),
            "mchid": self.config.get("mchid", ""),
            "out_trade_no": order.number,
            "transaction_id": transaction_id or f"42000{now:%Y%m%d}{secrets.randbelow(10**12):012d}",
            "trade_type": "NATIVE",
            "trade_state": state,
            "trade_state_desc": "支付成功" if state == "SUCCESS" else state,
            "bank_type": "OTHERS",
            "success_time": now.isoformat(timespec="seconds"),
            "payer": {"openid": "oSimulatedPayer0000000000000"},
            "amount": {
                "total": fen(order.amount if amount is None else amount),
                "payer_total": fen(order.amount if amount is None else amount),
                "currency": "CNY",
                "payer_currency": "CNY",
            },
        }

    def notification(
        self, resource: dict[str, Any], *, event_type: str = "TRANSACTION.SUCCESS", at: datetime | None = None
    ) -> tuple[dict[str, str], bytes]:
        """(headers, body) of a signed notification carrying ``resource``."""
        nonce = crypto.nonce_text(12)
        sealed = crypto.gcm_encrypt(
            self.values["apiv3_key"], nonce, json.dumps(resource, ensure_ascii=False).encode(), "transaction"
        )
        now = at or datetime.now(BEIJING)
        envelope = {
            "id": f"EV-{secrets.token_hex(12)}",
            "create_time": now.isoformat(timespec="seconds"),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": "支付成功",
            "resource": {
                "original_type": "transaction",
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": sealed,
                "associated_data": "transaction",
                "nonce": nonce,
            },
        }
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
        return self.sign(body, at=now), body

    def sign(self, body: bytes, *, at: datetime | None = None) -> dict[str, str]:
        """The Wechatpay-* headers of ``body`` signed with the simulated platform key."""
        stamp = str(int((at or datetime.now(BEIJING)).timestamp()))
        nonce = crypto.nonce_text(32)
        key = crypto.load_private_key(self.values["platform_private_key"])
        signature = crypto.rsa_sign(key, stamp.encode() + b"\n" + nonce.encode() + b"\n" + body + b"\n")
        return {
            "Wechatpay-Timestamp": stamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": signature,
            "Wechatpay-Serial": self.serial,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        }
