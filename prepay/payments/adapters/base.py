"""What every provider adapter offers, in provider-neutral terms.

An adapter turns one provider's wire format into these values and back:

* :meth:`Adapter.checkout` — how the customer pays an order: a QR code to scan, or an address to open;
* :meth:`Adapter.verify` — a notification's headers and raw body in, a :class:`Notice` out, or
  :class:`NotificationRefused` (forged, stale, malformed, another merchant's): nothing is trusted
  before the signature is checked against the provider's key;
* :meth:`Adapter.ack` / :meth:`Adapter.nack` — the answer the provider expects;
* :meth:`Adapter.parse_statement` — a daily statement file in the provider's format, as lines;
* :meth:`Adapter.refund` — give an order's money back through the provider.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from django.utils.translation import gettext as _

from prepay.common.errors import ActionError


@dataclass(frozen=True)
class Checkout:
    """How the customer pays: ``kind`` "qr" (show ``url`` as a QR code to scan with the provider's
    app) or "redirect" (open ``url``)."""

    kind: str
    url: str


@dataclass(frozen=True)
class Notice:
    """A notification whose signature was checked: the provider's word on one order."""

    event_id: str
    out_trade_no: str
    provider_trade_no: str
    state: str  # the provider's own word (SUCCESS, TRADE_SUCCESS, CLOSED …)
    paid: bool  # the state means the money was received
    amount: Decimal | None  # yuan
    currency: str = "CNY"
    paid_at: datetime | None = None
    merchant: str = ""  # the merchant / app the notification is for (checked by the adapter)


@dataclass(frozen=True)
class Reply:
    """The HTTP answer a provider expects to a notification."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class StatementRow:
    """One payment or refund of a provider's daily statement (amounts in yuan, positive)."""

    row: int
    kind: str  # prepay.payments.choices.LineKind
    occurred_at: datetime
    out_trade_no: str
    provider_trade_no: str
    amount: Decimal
    fee: Decimal = Decimal("0.00")
    refund_no: str = ""


@dataclass
class StatementProblems:
    """Row-level problems of a statement file; the import is all or nothing."""

    rows: list[tuple[int, str]] = field(default_factory=list)

    def add(self, row: int, message: str) -> None:
        self.rows.append((row, message))


class NotificationRefused(Exception):
    """A notification that is not the provider's word (bad or missing signature, unknown certificate,
    too old, another merchant's) or cannot be read. Nothing is changed; the provider is told to retry."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


class StatementError(ActionError):
    """A statement file that cannot be read; ``problems`` lists the rows (import changes nothing)."""

    def __init__(self, message: str, problems: list[tuple[int, str]] | None = None) -> None:
        super().__init__("statement_invalid", message)
        self.problems = problems or []


class ProviderUnavailable(ActionError):
    """The provider could not be reached or refused the request (checkout, refund); nothing changed."""

    status = 502


class Adapter(Protocol):
    kind: str

    def checkout(self, order: Any, *, notify_url: str, return_url: str) -> Checkout: ...

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: datetime) -> Notice: ...

    def ack(self) -> Reply: ...

    def nack(self, refusal: NotificationRefused) -> Reply: ...

    def parse_statement(self, data: bytes) -> list[StatementRow]: ...

    def refund(self, order: Any, *, refund_no: str, reason: str) -> str: ...


def json_reply(status: int, payload: dict[str, Any]) -> Reply:
    return Reply(status, json.dumps(payload, ensure_ascii=False).encode(), "application/json; charset=utf-8")


def statement_error(problems: list[tuple[int, str]]) -> StatementError:
    """The refusal of a whole statement: its first problems, each with its row."""
    shown = "; ".join(_("row %(r)s: %(m)s") % {"r": r, "m": m} for r, m in problems[:5])
    more = len(problems) - 5
    if more > 0:
        shown += " " + _("(and %(n)s more)") % {"n": more}
    return StatementError(_("The statement was not imported: %(p)s") % {"p": shown}, problems)
