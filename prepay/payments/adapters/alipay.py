"""Alipay (支付宝开放平台) with RSA2 signatures, written against its published rules:

* **Signing** (RSA2): every parameter but ``sign`` (and, in notifications, ``sign_type``), with an
  empty value left out, sorted by name, joined as ``name=value`` with ``&`` (values as they are, not
  URL-encoded); SHA256withRSA, base64. Requests are signed with the app's private key; notifications
  and answers are verified with the Alipay public key (支付宝公钥).
* **Notifications** (异步通知) are POSTed form-encoded. Verified ones must be for our ``app_id`` (and
  ``seller_id`` when set); ``trade_status`` TRADE_SUCCESS or TRADE_FINISHED means paid. Answer the
  seven characters ``success``; anything else makes Alipay send again (8 times in 25 hours).
* **Paying**: a phone-browser payment (``alipay.trade.wap.pay``, product QUICK_WAP_WAY) or a
  computer one (``alipay.trade.page.pay``, FAST_INSTANT_TRADE_PAY) is a signed address on the gateway
  that the customer opens: no request from Prepay is needed.
* **Refunds**: ``alipay.trade.refund``; the answer's ``sign`` covers the exact text of
  ``alipay_trade_refund_response``.
* **账务明细** (the account statement, CSV in GBK): ``#`` comment lines around a header
  ``账务流水号,业务流水号,商户订单号,商品名称,发生时间,对方账号,收入金额（+元）,支出金额（-元）,
  账户余额（元）,交易渠道,业务类型,备注``; values may carry trailing tabs. Payments are incoming rows
  (在线支付 / 交易付款), refunds outgoing 交易退款 rows, and 收费 rows are the fee of the order named.

Settings: ``app_id``, ``seller_id`` (optional), ``alipay_public_key`` (PEM or base64), ``gateway``
(default https://openapi.alipay.com/gateway.do), ``product`` ("wap", default, or "page").
Secret: ``private_key`` (the app's private key, PEM or base64 PKCS#8).
"""

from __future__ import annotations

import csv
import json
import urllib.parse
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
    statement_error,
)
from prepay.payments.credentials import Secrets

BEIJING = ZoneInfo("Asia/Shanghai")
GATEWAY = "https://openapi.alipay.com/gateway.do"
PAID = {"TRADE_SUCCESS", "TRADE_FINISHED"}
FEN = Decimal("0.01")


def signing_text(params: Mapping[str, str], *, exclude: tuple[str, ...] = ("sign",)) -> str:
    """The text RSA2 signs: sorted ``name=value`` pairs, empty values and ``exclude`` left out."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in exclude and params[k] != "")


def parse_form(body: bytes) -> dict[str, str]:
    """A form-encoded body, decoded with the charset it names (utf-8 by default); a name given twice
    is refused (a signed value must not be shadowed by a second one)."""
    text = body.decode("ascii", errors="strict")
    charset = "utf-8"
    for name, value in urllib.parse.parse_qsl(text, keep_blank_values=True, encoding="latin-1"):
        if name == "charset" and value.lower() in {"gbk", "gb2312", "gb18030"}:
            charset = "gb18030"
    pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, encoding=charset, errors="strict")
    names = [k for k, _v in pairs]
    if len(names) != len(set(names)):
        raise ValueError("a parameter is given twice")
    return dict(pairs)


class AlipayAdapter:
    """Adapter for one Alipay app (see the module docstring)."""

    kind = "alipay"

    def __init__(self, provider: Any, secrets: Secrets) -> None:
        self.provider = provider
        self.config: dict[str, Any] = dict(provider.config or {})
        self.secrets = secrets

    def _public_key(self) -> Any:
        return crypto.load_public_key(str(self.config.get("alipay_public_key", "")))

    def _sign(self, params: dict[str, str]) -> str:
        key = crypto.load_private_key(self.secrets["private_key"])
        return crypto.rsa_sign(key, signing_text(params).encode())

    # ---- notifications ---------------------------------------------------------------------------

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: datetime) -> Notice:
        try:
            params = parse_form(body)
        except (UnicodeDecodeError, ValueError):
            raise NotificationRefused("malformed", "the notification is not a form") from None
        signature = params.get("sign", "")
        if not signature:
            raise NotificationRefused("unsigned", "the notification carries no sign")
        if params.get("sign_type", "RSA2") != "RSA2":
            raise NotificationRefused("bad_signature", "only RSA2 signatures are accepted")
        text = signing_text(params, exclude=("sign", "sign_type"))
        if not crypto.rsa_verify(self._public_key(), text.encode(), signature):
            raise NotificationRefused("bad_signature", "the signature does not verify")
        if params.get("app_id") != str(self.config.get("app_id", "")):
            raise NotificationRefused("wrong_merchant", "the notification is for another app")
        seller = self.config.get("seller_id")
        if seller and params.get("seller_id") and params["seller_id"] != str(seller):
            raise NotificationRefused("wrong_merchant", "the notification is for another seller")
        try:
            amount = Decimal(params["total_amount"]).quantize(FEN) if params.get("total_amount") else None
            when = params.get("gmt_payment", "")
            paid_at = datetime.strptime(when, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING) if when else None
        except (InvalidOperation, ValueError):
            raise NotificationRefused("malformed", "the amount or time cannot be read") from None
        state = params.get("trade_status", "")
        return Notice(
            event_id=params.get("notify_id", "")[:64],
            out_trade_no=params.get("out_trade_no", "")[:64],
            provider_trade_no=params.get("trade_no", "")[:64],
            state=state[:32],
            paid=state in PAID,
            amount=amount,
            paid_at=paid_at,
            merchant=params.get("app_id", ""),
        )

    def ack(self) -> Reply:
        return Reply(200, b"success")

    def nack(self, refusal: NotificationRefused) -> Reply:
        return Reply(400, b"failure")

    # ---- paying and refunds ----------------------------------------------------------------------

    def _common(self, method: str, now: datetime) -> dict[str, str]:
        return {
            "app_id": str(self.config.get("app_id", "")),
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": now.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
            "version": "1.0",
        }

    def checkout(self, order: Any, *, notify_url: str, return_url: str) -> Checkout:
        """The signed gateway address of a wap (phone) or page payment; the customer opens it."""
        page = self.config.get("product") == "page"
        params = self._common(
            "alipay.trade.page.pay" if page else "alipay.trade.wap.pay", datetime.now(BEIJING)
        )
        biz = {
            "out_trade_no": order.number,
            "total_amount": f"{order.amount:.2f}",
            "subject": _("Prepaid credit %(a)s") % {"a": order.account.number},
            "product_code": "FAST_INSTANT_TRADE_PAY" if page else "QUICK_WAP_WAY",
            "time_expire": order.expires_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
        }
        params |= {
            "notify_url": notify_url,
            "return_url": return_url,
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
        }
        params["sign"] = self._sign(params)
        gateway = str(self.config.get("gateway") or GATEWAY)
        return Checkout("redirect", gateway + "?" + urllib.parse.urlencode(params))

    def refund(self, order: Any, *, refund_no: str, reason: str) -> str:
        """Refund the whole order (``alipay.trade.refund``); returns Alipay's trade number."""
        paid = order.paid_amount if order.paid_amount is not None else order.amount
        params = self._common("alipay.trade.refund", datetime.now(BEIJING))
        biz = {
            "out_trade_no": order.number,
            "refund_amount": f"{paid:.2f}",
            "out_request_no": refund_no,
            "refund_reason": reason[:80],
        }
        params["biz_content"] = json.dumps(biz, ensure_ascii=False, separators=(",", ":"))
        params["sign"] = self._sign(params)
        gateway = str(self.config.get("gateway") or GATEWAY)
        resp = http.request(
            "POST",
            gateway,
            body=urllib.parse.urlencode(params).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
        )
        if resp.status != 200:
            raise http.refused(resp)
        answer = self._verified_answer(resp.body, "alipay_trade_refund_response")
        if answer.get("code") != "10000":
            raise http.refused(resp, str(answer.get("sub_msg") or answer.get("msg") or ""))
        return str(answer.get("trade_no") or refund_no)[:64]

    def _verified_answer(self, body: bytes, name: str) -> dict[str, Any]:
        """The ``name`` object of an answer whose ``sign`` covers its exact text, else refused."""
        text = body.decode("utf-8", errors="replace")
        marker = f'"{name}":'
        start = text.find(marker)
        if start < 0:
            raise http.refused(http.Response(200, {}, body), _("the answer is not Alipay's"))
        begin = start + len(marker)
        while begin < len(text) and text[begin] in " \t\r\n":
            begin += 1
        try:
            answer, end = json.JSONDecoder().raw_decode(text, begin)
            sign = json.loads(text).get("sign", "")
        except ValueError:
            raise http.refused(http.Response(200, {}, body), _("the answer is not Alipay's")) from None
        if not crypto.rsa_verify(self._public_key(), text[begin:end].encode(), str(sign)):
            raise http.refused(http.Response(200, {}, body), _("the answer's signature does not verify"))
        return answer if isinstance(answer, dict) else {}

    # ---- 账务明细 ---------------------------------------------------------------------------------

    def parse_statement(self, data: bytes) -> list[StatementRow]:
        return parse_account_statement(data)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def _find(header: list[str], *names: str) -> int | None:
    for i, h in enumerate(header):
        if any(n in h for n in names):
            return i
    return None


def _amount(text: str) -> Decimal:
    text = text.strip().replace(",", "")
    if not text:
        return Decimal("0.00")
    value = Decimal(text)
    if not value.is_finite():
        raise InvalidOperation
    return abs(value).quantize(FEN)


def parse_account_statement(data: bytes) -> list[StatementRow]:
    """Payments and refunds of an Alipay 账务明细 file (fees folded into their payment);
    :class:`StatementError` listing every row that cannot be read."""
    lines = _decode(data).splitlines()
    start = next((i for i, ln in enumerate(lines) if "账务流水号" in ln and "业务类型" in ln), None)
    if start is None:
        raise statement_error([(1, _("this is not an Alipay 账务明细 file (no 账务流水号 header)"))])
    header = [h.strip().strip("\t") for h in next(csv.reader([lines[start]]))]
    col = {
        "trade": _find(header, "业务流水号"),
        "order": _find(header, "商户订单号"),
        "time": _find(header, "发生时间"),
        "income": _find(header, "收入金额"),
        "expense": _find(header, "支出金额"),
        "type": _find(header, "业务类型"),
    }
    if None in col.values():
        missing = [k for k, v in col.items() if v is None]
        raise statement_error([(start + 1, _("columns missing: %(c)s") % {"c": ", ".join(missing)})])
    out: list[StatementRow] = []
    fees: dict[str, Decimal] = {}
    problems: list[tuple[int, str]] = []
    for number, line in enumerate(lines[start + 1 :], start=start + 2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [c.strip().strip("\t").strip() for c in next(csv.reader([line]))]
        cells += [""] * (len(header) - len(cells))

        def get(key: str, cells: list[str] = cells) -> str:
            return cells[col[key] or 0]

        try:
            row = _statement_row(number, get, fees)
        except (ValueError, InvalidOperation):
            problems.append((number, _("a time or amount cannot be read")))
            continue
        if row is not None:
            out.append(row)
    if problems:
        raise statement_error(problems)
    return [_with_fee(r, fees) for r in out]


def _statement_row(number: int, get: Any, fees: dict[str, Decimal]) -> StatementRow | None:
    kind_text, order = get("type"), get("order")
    income, expense = _amount(get("income")), _amount(get("expense"))
    when = datetime.strptime(get("time"), "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    if "收费" in kind_text or "服务费" in kind_text:
        fees[order] = fees.get(order, Decimal("0.00")) + expense - income
        return None
    if "退款" in kind_text and expense:
        kind, amount = "refund", expense
    elif income and ("支付" in kind_text or "付款" in kind_text or "交易" in kind_text):
        kind, amount = "payment", income
    else:
        return None  # transfers, withdrawals and the like are not sales
    return StatementRow(number, kind, when, order[:64], get("trade")[:64], amount)


def _with_fee(row: StatementRow, fees: dict[str, Decimal]) -> StatementRow:
    if row.kind != "payment" or row.out_trade_no not in fees:
        return row
    return StatementRow(
        row.row,
        row.kind,
        row.occurred_at,
        row.out_trade_no,
        row.provider_trade_no,
        row.amount,
        fees[row.out_trade_no],
    )
