"""Receipt fixtures written directly as rows (test setup, not business actions): a vending point, a
vend with its tariff breakdown, credit tokens and a receipt; reversals and refunds with receipts."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from prepay.customers.models import Account
from prepay.meters.models import Meter
from prepay.tokens.models import IssuedToken, TokenKind
from prepay.vending.models import (
    CardImage,
    Delivery,
    LedgerEntry,
    Receipt,
    Reversal,
    ReversalKind,
    Vend,
    VendingPoint,
)
from tests import factories as f

_n = itertools.count(1)
TOKEN = "12345678901234567890"


def point(w: f.SiteWorld, **kw: Any) -> VendingPoint:
    n = next(_n)
    return VendingPoint.objects.create(
        site=w.site,
        code=kw.pop("code", f"p{n}"),
        name=kw.pop("name", f"Counter {n}"),
        receipt_prefix=kw.pop("receipt_prefix", f"{w.site.code.upper()}{n}-"),
        **kw,
    )


def breakdown(*, vat: bool = True) -> dict[str, Any]:
    """A two-tier quote as ``Quote.to_dict()`` writes it: 100 kWh = 60 + 40 at two prices."""
    return {
        "unit": "kWh",
        "energy": "100.000",
        "lines": [
            {"key": "tier:1", "label": "tier 1", "energy": "60.000", "price": "0.5880", "amount": "35.28"},
            {"key": "tier:2", "label": "tier 2", "energy": "40.000", "price": "0.6380", "amount": "25.52"},
        ],
        "energy_amount": "60.80",
        "fixed": [{"name": "Meter service", "amount": "2.00"}],
        "fixed_amount": "2.00",
        "net_amount": "55.58" if vat else "62.80",
        "vat_rate": "0.13" if vat else "0",
        "vat_included": True,
        "vat_amount": "7.22" if vat else "0.00",
        "total": "62.80",
        "paid": "62.80",
        "unspent": "0.00",
        "used_in_cycle": "0.000",
        "used_in_cycle_after": "100.000",
        "quota_used": "0.000",
        "quota_used_after": "0.000",
    }


def vend(
    w: f.SiteWorld,
    *,
    actor: Any,
    account: Account | None = None,
    meter: Meter | None = None,
    at: VendingPoint | None = None,
    delivery: str = Delivery.TOKEN,
    tokens: list[str] | None = None,
    multiplier: int = 1,
    prints: int = 0,
    amount: str = "70.00",
    arrears: str = "7.20",
    **kw: Any,
) -> Receipt:
    """A completed vend with its receipt (and credit tokens for token delivery)."""
    meter = meter or (account.installations.first().meter if account else f.meter(w))  # type: ignore[union-attr]
    account = account or f.account(w, meter_=meter)
    at = at or point(w)
    v = Vend.objects.create(
        account=account,
        meter=meter,
        point=at,
        method=kw.pop("method", "cash"),
        reference=kw.pop("reference", ""),
        amount=Decimal(amount),
        arrears_recovered=Decimal(arrears),
        credit_amount=Decimal(amount) - Decimal(arrears),
        energy=Decimal("100.000"),
        register_units=(Decimal("100.000") / multiplier).quantize(Decimal("0.1"), rounding="ROUND_UP"),
        multiplier=multiplier,
        breakdown=kw.pop("breakdown", breakdown()),
        delivery=delivery,
        idempotency_key=f"k{next(_n)}",
        created_by=actor,
        **kw,
    )
    if delivery == Delivery.TOKEN:
        for i, token in enumerate(tokens if tokens is not None else [TOKEN]):
            IssuedToken.objects.create(
                meter=meter,
                kind=TokenKind.CREDIT,
                token_class=0,
                subclass=0,
                tid=1000 + i,
                token=token,
                supply_group_code="123456",
                key_revision=1,
                tariff_index="01",
                reason="vend",
                vend=v,
                created_by=actor,
            )
    if delivery == Delivery.CARD:
        CardImage.objects.create(meter=meter, sequence=7, units=v.register_units, image="00ff", vend=v)
    return _receipt(at, actor, vend=v, prints=prints)


def _receipt(at: VendingPoint, actor: Any, **kw: Any) -> Receipt:
    VendingPoint.objects.filter(pk=at.pk).update(receipt_counter=at.receipt_counter + 1)
    at.refresh_from_db()
    number = at.receipt_counter
    r = Receipt.objects.create(
        point=at, number=number, code=f"{at.receipt_prefix}{number:06d}", issued_by=actor, **kw
    )
    if r.vend is not None:
        Vend.objects.filter(pk=r.vend.pk).update(receipt_no=r.code)
    return r


def balance_entry(account: Account, amount: str, balance_after: str, actor: Any) -> LedgerEntry:
    seq = LedgerEntry.objects.filter(account=account).count() + 1
    return LedgerEntry.objects.create(
        account=account,
        seq=seq,
        kind="vend",
        amount=Decimal(amount),
        balance_after=Decimal(balance_after),
        created_by=actor,
    )


def reversal(receipt: Receipt, *, actor: Any, decided_by: Any, kind: str = ReversalKind.REVERSAL) -> Receipt:
    """An approved reversal of ``receipt``'s vend (or a refund of its account) with its own receipt."""
    v = receipt.vend
    assert v is not None
    rev = Reversal.objects.create(
        kind=kind,
        account=v.account,
        vend=v if kind == ReversalKind.REVERSAL else None,
        amount=v.amount if kind == ReversalKind.REVERSAL else Decimal("12.50"),
        reason="Wrong meter",
        token_entered=False if kind == ReversalKind.REVERSAL else None,
        status="approved",
        requested_by=actor,
        decided_by=decided_by,
        point=receipt.point,
    )
    return _receipt(receipt.point, actor, reversal=rev)
