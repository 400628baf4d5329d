"""WeChat Pay API v3 (微信支付 APIv3), written against its published rules:

* **Notifications** (支付结果通知) are POSTed as JSON with the headers ``Wechatpay-Timestamp``,
  ``Wechatpay-Nonce``, ``Wechatpay-Serial`` and ``Wechatpay-Signature``. The signature is
  SHA256withRSA over ``"{timestamp}\\n{nonce}\\n{raw body}\\n"`` with WeChat Pay's platform key: the
  platform certificate whose serial the header names (it must be one we hold and valid now), or a
  WeChat Pay public key by its id (``PUB_KEY_ID_…``). A timestamp more than five minutes away from
  now is refused (a replayed request). Only then is the ``resource`` (``AEAD_AES_256_GCM``) opened
  with the APIv3 key; it must be for our ``mchid`` (and ``appid``). Answer: 200 with no body; a
  refusal is 4xx with ``{"code": "FAIL", "message": …}`` and WeChat Pay sends it again later.
* **Placing an order** (Native 下单, ``POST /v3/pay/transactions/native``) returns a ``code_url`` the
  customer scans. Requests carry ``Authorization: WECHATPAY2-SHA256-RSA2048 mchid=…,nonce_str=…,
  signature=…,timestamp=…,serial_no=…`` signed with the merchant's private key over
  ``"{METHOD}\\n{path}\\n{timestamp}\\n{nonce}\\n{body}\\n"``; answers are checked like notifications.
* **Refunds**: ``POST /v3/refund/domestic/refunds``.
* **Trade bill** (交易账单, CSV): a header row, rows whose every field starts with a back-quote, then
  the summary's header (总交易单数 …) and values. Columns are read by name (their order varies).

Settings (``PaymentProvider.config``): ``mchid``, ``appid``, ``merchant_serial`` (serial of the
merchant API certificate), ``platform_certificates`` (PEM list) and/or ``public_keys`` (id → PEM),
``api_base`` (default https://api.mch.weixin.qq.com). Secrets: ``apiv3_key`` (32 characters) and
``private_key`` (the merchant API private key, PEM).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from prepay.payments import crypto
from prepay.payments.adapters import http
from prepay.payments.adapters.base import (
    Checkout,
    Notice,
    NotificationRefused,
    Reply,
    StatementRow,
    json_reply,
    statement_error,
)
from prepay.payments.credentials import Secrets

BEIJING = ZoneInfo("Asia/Shanghai")
API_BASE = "https://api.mch.weixin.qq.com"
#: how far a notification's timestamp may be from now (WeChat Pay's guidance: five minutes)
MAX_SKEW_SECONDS = 300
FEN = Decimal("0.01")


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def yuan(fen: Any) -> Decimal:
    """WeChat amounts are whole fen: ``5000`` → ``Decimal("50.00")``."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise ValueError("amount is not a whole number of fen")
    return (Decimal(fen) * FEN).quantize(FEN)


def fen(amount: Decimal) -> int:
    return int((amount / FEN).to_integral_value())


class WeChatPayAdapter:
    """Adapter for one WeChat Pay merchant (see the module docstring)."""

    kind = "wechat"

    def __init__(self, provider: Any, secrets: Secrets) -> None:
        self.provider = provider
        self.config: dict[str, Any] = dict(provider.config or {})
        self.secrets = secrets

    # ---- keys ------------------------------------------------------------------------------------

    def platform_key(self, serial: str, now: datetime) -> Any:
        """The platform public key named by ``Wechatpay-Serial``: a certificate we hold that is valid
        now, or a WeChat Pay public key by id; :class:`NotificationRefused` otherwise."""
        for key_id, pem in (self.config.get("public_keys") or {}).items():
            if key_id == serial:
                return crypto.load_public_key(pem)
        for pem in self.config.get("platform_certificates") or []:
            if crypto.certificate_serial(pem) == serial.upper():
                if not crypto.certificate_valid_at(pem, now):
                    raise NotificationRefused(
                        "certificate_expired", "the platform certificate is not valid now"
                    )
                return crypto.load_public_key(pem)
        raise NotificationRefused("unknown_certificate", "no platform certificate or key with that serial")

    def check_signature(self, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
        """Refuse unless ``body`` carries a fresh, valid WeChat Pay signature."""
        h = _lower(headers)
        stamp, nonce = h.get("wechatpay-timestamp", ""), h.get("wechatpay-nonce", "")
        signature, serial = h.get("wechatpay-signature", ""), h.get("wechatpay-serial", "")
        if not (stamp and nonce and signature and serial):
            raise NotificationRefused("unsigned", "the Wechatpay-* signature headers are missing")
        if signature.startswith("WECHATPAY/SIGNTEST/"):
            raise NotificationRefused("bad_signature", "a signature probe is not a signature")
        try:
            sent = int(stamp)
        except ValueError:
            raise NotificationRefused("malformed", "Wechatpay-Timestamp is not a number") from None
        if abs(now.timestamp() - sent) > MAX_SKEW_SECONDS:
            raise NotificationRefused("stale", "the timestamp is more than five minutes from now")
        key = self.platform_key(serial, now)
        message = stamp.encode() + b"\n" + nonce.encode() + b"\n" + body + b"\n"
        if not crypto.rsa_verify(key, message, signature):
            raise NotificationRefused("bad_signature", "the signature does not verify")

    # ---- notifications ---------------------------------------------------------------------------

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: datetime) -> Notice:
        """The notification's :class:`Notice`, or :class:`NotificationRefused` (nothing trusted)."""
        self.check_signature(headers, body, now)
        try:
            envelope = json.loads(body)
            resource = envelope["resource"]
            if resource.get("algorithm") != "AEAD_AES_256_GCM":
                raise NotificationRefused("malformed", "unknown resource algorithm")
            plain = crypto.gcm_decrypt(
                self.secrets["apiv3_key"],
                str(resource["nonce"]),
                str(resource["ciphertext"]),
                str(resource.get("associated_data") or ""),
            )
            data = json.loads(plain)
        except crypto.CryptoError:
            raise NotificationRefused(
                "undecryptable", "the resource does not open with the APIv3 key"
            ) from None
        except (ValueError, KeyError, TypeError, AttributeError):
            raise NotificationRefused("malformed", "the notification is not WeChat Pay's JSON") from None
        return self._notice(envelope, data)

    def _notice(self, envelope: dict[str, Any], data: dict[str, Any]) -> Notice:
        if str(data.get("mchid") or data.get("sp_mchid") or "") != str(self.config.get("mchid", "")):
            raise NotificationRefused("wrong_merchant", "the notification is for another merchant")
        appid = self.config.get("appid")
        if appid and data.get("appid") and str(data["appid"]) != str(appid):
            raise NotificationRefused("wrong_merchant", "the notification is for another app")
        refund = str(envelope.get("event_type", "")).startswith("REFUND.")
        amount_block = data.get("amount") or {}
        try:
            total = amount_block.get("total")
            amount = yuan(total) if total is not None else None
            when = data.get("success_time")
            paid_at = datetime.fromisoformat(when) if when else None
        except (ValueError, TypeError):
            raise NotificationRefused("malformed", "the amount or time cannot be read") from None
        state = str(data.get("refund_status") if refund else data.get("trade_state") or "")
        return Notice(
            event_id=str(envelope.get("id", ""))[:64],
            out_trade_no=str(data.get("out_trade_no", ""))[:64],
            provider_trade_no=str(data.get("transaction_id", ""))[:64],
            state=("REFUND:" + state if refund else state)[:32],
            paid=not refund and state == "SUCCESS",
            amount=amount,
            currency=str(amount_block.get("currency") or "CNY"),
            paid_at=paid_at,
            merchant=str(data.get("mchid", "")),
        )

    def ack(self) -> Reply:
        return Reply(200)

    def nack(self, refusal: NotificationRefused) -> Reply:
        status = 401 if refusal.code in {"unsigned", "bad_signature", "unknown_certificate"} else 400
        return json_reply(status, {"code": "FAIL", "message": refusal.code})

    # ---- requests to WeChat Pay ------------------------------------------------------------------

    def _call(self, method: str, path: str, payload: dict[str, Any], *, now: datetime) -> dict[str, Any]:
        """A signed request; the answer's signature is checked before it is believed."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        stamp, nonce = str(int(now.timestamp())), crypto.nonce_text()
        message = f"{method}\n{path}\n{stamp}\n{nonce}\n".encode() + body + b"\n"
        signature = crypto.rsa_sign(crypto.load_private_key(self.secrets["private_key"]), message)
        auth = (
            f'WECHATPAY2-SHA256-RSA2048 mchid="{self.config.get("mchid", "")}",nonce_str="{nonce}",'
            f'signature="{signature}",timestamp="{stamp}",serial_no="{self.config.get("merchant_serial", "")}"'
        )
        base = str(self.config.get("api_base") or API_BASE).rstrip("/")
        resp = http.request(
            method,
            base + path,
            body=body,
            headers={"Authorization": auth, "Content-Type": "application/json", "Accept": "application/json"},
        )
        if resp.status // 100 != 2:
            raise http.refused(resp)
        try:
            self.check_signature(resp.headers, resp.body, now)
        except NotificationRefused as exc:
            raise http.refused(
                resp, _("the answer's signature does not verify (%(c)s)") % {"c": exc.code}
            ) from None
        data = resp.json()
        return data if isinstance(data, dict) else {}

    def checkout(self, order: Any, *, notify_url: str, return_url: str) -> Checkout:
        """Place a Native order; the customer scans its ``code_url``."""
        now = datetime.now(BEIJING)
        payload = {
            "appid": self.config.get("appid", ""),
            "mchid": self.config.get("mchid", ""),
            "description": _("Prepaid credit %(a)s") % {"a": order.account.number},
            "out_trade_no": order.number,
            "time_expire": order.expires_at.astimezone(BEIJING).isoformat(timespec="seconds"),
            "notify_url": notify_url,
            "amount": {"total": fen(order.amount), "currency": "CNY"},
        }
        data = self._call("POST", "/v3/pay/transactions/native", payload, now=now)
        url = str(data.get("code_url") or "")
        if not url:
            raise http.refused(http.Response(200, {}, b""), _("no code_url in the answer"))
        return Checkout("qr", url)

    def refund(self, order: Any, *, refund_no: str, reason: str) -> str:
        """Refund the whole order; returns WeChat Pay's ``refund_id``."""
        paid = order.paid_amount if order.paid_amount is not None else order.amount
        payload = {
            "out_trade_no": order.number,
            "out_refund_no": refund_no,
            "reason": reason[:80],
            "amount": {"refund": fen(paid), "total": fen(paid), "currency": "CNY"},
        }
        data = self._call("POST", "/v3/refund/domestic/refunds", payload, now=datetime.now(BEIJING))
        return str(data.get("refund_id") or refund_no)[:64]

    # ---- trade bill ------------------------------------------------------------------------------

    def parse_statement(self, data: bytes) -> list[StatementRow]:
        return parse_trade_bill(data)


_PAY_COLUMNS = {
    "time": "交易时间",
    "trade": "微信订单号",
    "order": "商户订单号",
    "state": "交易状态",
    "settled": "应结订单金额",
    "total": "订单金额",
    "fee": "手续费",
    "refund": "退款金额",
    "refund_applied": "申请退款金额",
    "refund_no": "商户退款单号",
}


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def _cell(value: str) -> str:
    value = value.strip()
    return value[1:].strip() if value.startswith("`") else value


def _money(text: str) -> Decimal:
    if not text:
        return Decimal("0.00")
    value = Decimal(text)
    if not value.is_finite():
        raise InvalidOperation
    return value.quantize(FEN)


def parse_trade_bill(data: bytes) -> list[StatementRow]:
    """Rows of a WeChat Pay trade bill (ALL, SUCCESS or REFUND); :class:`StatementError` listing
    every row that cannot be read (the import is all or nothing)."""
    rows = list(csv.reader(io.StringIO(_decode(data))))
    if not rows or "交易时间" not in [c.strip() for c in rows[0]]:
        raise statement_error([(1, _("this is not a WeChat Pay trade bill (no 交易时间 header)"))])
    header = [c.strip().lstrip("\ufeff") for c in rows[0]]
    col = {key: header.index(name) if name in header else None for key, name in _PAY_COLUMNS.items()}
    missing = [_PAY_COLUMNS[k] for k in ("time", "trade", "order", "state") if col[k] is None]
    if missing or (col["total"] is None and col["settled"] is None):
        raise statement_error([(1, _("columns missing: %(c)s") % {"c": ", ".join(missing) or "订单金额"})])
    out: list[StatementRow] = []
    problems: list[tuple[int, str]] = []
    for number, raw in enumerate(rows[1:], start=2):
        if not raw or not "".join(raw).strip():
            continue
        if raw[0].strip().startswith("总交易单数"):
            break  # the summary's header; its values follow
        cells = [_cell(c) for c in raw]

        def get(key: str, cells: list[str] = cells) -> str:
            i = col[key]
            return cells[i] if i is not None and i < len(cells) else ""

        try:
            out.append(_bill_row(number, get))
        except (ValueError, InvalidOperation):
            problems.append((number, _("a time or amount cannot be read")))
        except LookupError as exc:
            problems.append((number, _("unknown trade state %(s)s") % {"s": str(exc.args[0])[:20]}))
    if problems:
        raise statement_error(problems)
    return out


def _bill_row(number: int, get: Any) -> StatementRow:
    when = datetime.strptime(get("time"), "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    state = get("state").upper()
    total = _money(get("total") or get("settled"))
    if state == "SUCCESS":
        kind, amount, refund_no = "payment", total, ""
    elif state in ("REFUND", "REVOKED"):
        amount = _money(get("refund_applied") or get("refund")) or total
        kind, refund_no = "refund", get("refund_no")
    else:
        raise LookupError(state)
    return StatementRow(
        row=number,
        kind=kind,
        occurred_at=when,
        out_trade_no=get("order")[:64],
        provider_trade_no=get("trade")[:64],
        amount=amount,
        fee=abs(_money(get("fee"))),
        refund_no=refund_no[:64],
    )
