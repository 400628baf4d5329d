"""What the portal shows, read for one signed-in customer only (nothing here writes).

Every lookup starts from the session's customer: an account, a purchase, an order or a receipt of
another customer is "not found" (404), whether or not it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from prepay.customers.choices import AccountMode
from prepay.customers.models import Account, Customer
from prepay.payments.choices import OrderStatus
from prepay.payments.models import PaymentOrder
from prepay.telemetry.models import MeterReading
from prepay.vending import ledger
from prepay.vending.models import Receipt, Vend
from prepay.vending.receipts import token_groups


def accounts_of(customer: Customer) -> QuerySet[Account]:
    return (
        Account.objects.filter(customer=customer)
        .select_related("site__group", "unit__building", "customer")
        .order_by("status", "number")
    )


def account_of(customer: Customer, number: str) -> Account:
    account = accounts_of(customer).filter(number=number).first()
    if account is None:
        raise Http404
    return account


def order_of(customer: Customer, number: str) -> PaymentOrder:
    order = (
        PaymentOrder.objects.filter(number=number, account__customer=customer)
        .select_related("account__site", "provider", "vend")
        .first()
    )
    if order is None:
        raise Http404
    return order


def receipt_of(customer: Customer, code: str) -> Receipt:
    receipt = Receipt.objects.filter(code=code, vend__account__customer=customer).first()
    if receipt is None:
        raise Http404
    return receipt


@dataclass(frozen=True)
class Credit:
    """The money an account has: the platform's balance (remote fee control) or the credit the meter
    itself last reported (local fee control), with when it was read."""

    amount: Decimal | None
    remote: bool
    read_at: datetime | None = None


def credit_of(account: Account) -> Credit:
    if account.mode == AccountMode.REMOTE:
        return Credit(ledger.balance_of(account), True)
    current = account.installations.filter(ended_at__isnull=True).values_list("meter_id", flat=True).first()
    if current is None:
        return Credit(None, False)
    reading = (
        MeterReading.objects.filter(meter_id=current, balance__isnull=False)
        .order_by("-read_at")
        .values_list("balance", "read_at")
        .first()
    )
    return Credit(reading[0], False, reading[1]) if reading else Credit(None, False)


@dataclass(frozen=True)
class Purchase:
    vend: Vend
    tokens: list[str]  # in groups of four
    receipt_code: str
    card_sequence: int | None


def purchases(
    account: Account, limit: int = 20, offset: int = 0, vend_id: int | None = None
) -> list[Purchase]:
    """The account's purchases, newest first (``vend_id``: that one only)."""
    rows = Vend.objects.filter(account=account)
    if vend_id is not None:
        rows = rows.filter(pk=vend_id)
    vends = (
        rows.select_related("receipt", "card")
        .prefetch_related("tokens")
        .order_by("-created_at", "-pk")[offset : offset + limit]
    )
    out = []
    for v in vends:
        tokens = sorted(v.tokens.all(), key=lambda t: (t.tid or 0, t.pk))
        receipt = getattr(v, "receipt", None)
        card = getattr(v, "card", None)
        out.append(
            Purchase(
                v,
                [token_groups(t.token) for t in tokens if t.kind == "credit"],
                receipt.code if receipt is not None else "",
                card.sequence if card is not None else None,
            )
        )
    return out


def open_orders(account: Account) -> QuerySet[PaymentOrder]:
    """Online orders still pending or waiting for the office (shown so a payment never seems lost)."""
    recent = timezone.now() - timedelta(days=7)
    return PaymentOrder.objects.filter(
        account=account, created_at__gte=recent, status__in=[OrderStatus.CREATED, OrderStatus.ATTENTION]
    ).filter(Q(status=OrderStatus.ATTENTION) | Q(expires_at__gt=timezone.now()))


def consumption(account: Account, period: str) -> dict[str, Any]:
    """The chart's series: ``day`` (last 31 days) or ``month`` (last 12 months), only readings taken
    while each meter served this account."""
    from prepay.counter.consumption import series

    since = timezone.now() - timedelta(days=366 if period == "month" else 31)
    windows = Q(pk__in=[])
    for inst in account.installations.all():
        window = Q(meter_id=inst.meter_id, read_at__gte=inst.started_at)
        if inst.ended_at is not None:
            window &= Q(read_at__lte=inst.ended_at)
        windows |= window
    readings = (
        MeterReading.objects.filter(windows, read_at__gte=since)
        .order_by("meter_id", "read_at")
        .only("meter_id", "read_at", "energy", "sharp", "peak", "flat", "valley")
    )
    return series(readings, period)


def billing(account: Account) -> dict[str, Any]:
    """Fees, bills and the warning / cut-off state (the counter's own summary, read only)."""
    from prepay.counter.followup import account_billing

    return account_billing(account)
