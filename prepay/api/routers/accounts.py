"""Looking things up and pricing: accounts, balances, meters, quotes (scopes ``read`` and ``quote``)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema

from prepay.api.common import caller, dec, visible, visible_rows
from prepay.api.types import DecimalString
from prepay.common.actions import Visible, found
from prepay.common.errors import ActionError
from prepay.customers.models import Account
from prepay.meters.models import Meter
from prepay.vending import ledger
from prepay.vending.actions import active_meter, delivery_for, find_accounts, quote_vend

router = Router(tags=["accounts"])


class Error(Schema):
    code: str
    message: str


class MeterOut(Schema):
    id: int
    serial: str
    model: str
    status: str
    multiplier: int
    protocol: str


class AccountOut(Schema):
    id: int
    number: str
    status: str
    mode: str
    utility: str
    site: str
    customer: str
    unit: str
    meter: str | None


class AccountDetailOut(AccountOut):
    balance: str
    delivery: str | None
    meter_detail: MeterOut | None
    tariff: str | None


class BalanceOut(Schema):
    account: str
    balance: str
    as_of: str


class MeterLookupOut(MeterOut):
    account: AccountOut | None


class QuoteIn(Schema):
    account_id: int | None = None
    account_number: str | None = None
    amount: DecimalString | None = None
    energy: DecimalString | None = None


class QuoteOut(Schema):
    account: str
    amount: str
    arrears_recovered: str
    credit_amount: str
    energy: str | None
    register_units: str | None
    multiplier: int
    delivery: str
    unit: str
    balance_before: str
    breakdown: dict[str, Any]


def meter_out(meter: Meter) -> dict[str, Any]:
    return {
        "id": meter.pk,
        "serial": meter.serial,
        "model": meter.model.code,
        "status": meter.status,
        "multiplier": meter.multiplier,
        "protocol": meter.protocol,
    }


def account_out(account: Account, meter: Meter | None = None) -> dict[str, Any]:
    return {
        "id": account.pk,
        "number": account.number,
        "status": account.status,
        "mode": account.mode,
        "utility": account.utility,
        "site": account.site.code,
        "customer": account.customer.name,
        "unit": str(account.unit.number),
        "meter": meter.serial if meter is not None else None,
    }


def account_rows(request: HttpRequest, scope: str, account_id: int | None, number: str | None) -> Any:
    """The account named by id or number among those the caller may see, not read yet (an action
    reads it under its lock: ``locked_one``)."""
    who = caller(request, scope)
    if account_id is not None:
        return visible_rows(Account, who, pk=account_id)
    if number:
        return visible_rows(Account, who, number=number)
    raise ActionError("account_required", _("Name the account: account_id or account_number."))


def account_to_sell(
    request: HttpRequest, scope: str, account_id: int | None, number: str | None
) -> Visible[Account] | QuerySet[Account]:
    """:func:`account_rows` as a sale takes it: by id, a :class:`Visible` row, which the sale reads
    under its lock in a query compiled once per process (``common.actions.locked_one``)."""
    if account_id is not None:
        return Visible(Account, caller(request, scope).user, account_id)
    return account_rows(request, scope, account_id, number)  # type: ignore[no-any-return]


def account_for(request: HttpRequest, scope: str, account_id: int | None, number: str | None) -> Account:
    """The account named by id or number, if the caller may see it (else 404)."""
    return found(account_rows(request, scope, account_id, number))  # type: ignore[no-any-return]


@router.get("/accounts", response=list[AccountOut], summary="Find accounts")
def search_accounts(request: HttpRequest, q: str, limit: int = 20) -> list[dict[str, Any]]:
    """Accounts the caller may see by meter serial, account number, customer name or phone, or unit."""
    who = caller(request, "read")
    found = find_accounts(who.user, q, limit=max(1, min(limit, 100)))
    return [account_out(a, active_meter(a)) for a in found]


@router.get("/accounts/{account_id}", response=AccountDetailOut, summary="Account with balance")
def account_detail(request: HttpRequest, account_id: int) -> dict[str, Any]:
    account = account_for(request, "read", account_id, None)
    meter = active_meter(account)
    try:
        delivery: str | None = delivery_for(account, meter)
    except ActionError:
        delivery = None
    return account_out(account, meter) | {
        "balance": str(ledger.balance_of(account)),
        "delivery": delivery,
        "meter_detail": meter_out(meter) if meter is not None else None,
        "tariff": account.tariff.code if account.tariff is not None else None,
    }


@router.get("/accounts/{account_id}/balance", response=BalanceOut, summary="Balance")
def account_balance(request: HttpRequest, account_id: int) -> dict[str, Any]:
    account = account_for(request, "read", account_id, None)
    return {
        "account": account.number,
        "balance": str(ledger.balance_of(account)),
        "as_of": timezone.now().isoformat(),
    }


@router.get("/meters/{serial}", response=MeterLookupOut, summary="Meter by serial number")
def meter_lookup(request: HttpRequest, serial: str) -> dict[str, Any]:
    who = caller(request, "read")
    meter = visible(Meter, who, serial=serial)
    inst = meter.installations.filter(ended_at__isnull=True).select_related("account").first()
    account = inst.account if inst is not None else None
    if account is not None and not Account.objects.for_user(who.user).filter(pk=account.pk).exists():
        account = None
    return meter_out(meter) | {"account": account_out(account, meter) if account is not None else None}


@router.post("/quotes", response={200: QuoteOut, 400: Error}, summary="Price a purchase")
def quote(request: HttpRequest, body: QuoteIn) -> dict[str, Any]:
    """What a vend of ``amount`` (money) or ``energy`` would give; moves nothing."""
    account = account_for(request, "quote", body.account_id, body.account_number)
    q = quote_vend(
        account=account,
        actor=request.auth.user,  # type: ignore[attr-defined]
        amount=body.amount,
        energy=body.energy,
    )
    return {"account": account.number} | q.to_dict()


__all__ = ["account_for", "account_out", "dec", "meter_out", "router"]
