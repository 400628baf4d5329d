"""Posting to the customer ledger: the only code that moves an account's balance."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from prepay.common.errors import ActionError
from prepay.customers.models import Account
from prepay.domain.money import money
from prepay.vending.models import LedgerEntry


def balance_of(account: Account | int) -> Decimal:
    """The account's balance: ``balance_after`` of its newest entry (0 with no entries)."""
    account_id = account if isinstance(account, int) else account.pk
    last = (
        LedgerEntry.objects.filter(account_id=account_id)
        .order_by("-seq")
        .values_list("balance_after", flat=True)
        .first()
    )
    return last if last is not None else Decimal("0.00")


def post(
    account: Account,
    kind: str,
    amount: Decimal,
    *,
    actor: Any,
    energy: Decimal | None = None,
    memo: str = "",
    idempotency_key: str | None = None,
    reverses: LedgerEntry | None = None,
) -> LedgerEntry:
    """Append one entry. The caller holds the account row lock (``select_for_update``) in its transaction.

    A repeated ``idempotency_key`` returns the entry first written with it and moves no money; the
    same key with a different account, kind or amount is refused.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger.post must run inside the action's transaction")
    amount = money(amount)
    if idempotency_key:
        existing = LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if (existing.account_id, existing.kind, existing.amount) != (account.pk, kind, amount):
                raise ActionError(
                    "idempotency_conflict",
                    _("This idempotency key was already used for a different request."),
                )
            return existing
    last = (
        LedgerEntry.objects.filter(account=account)
        .order_by("-seq")
        .values_list("seq", "balance_after")
        .first()
    )
    seq, balance = (last[0] + 1, last[1]) if last else (1, Decimal("0.00"))
    return LedgerEntry.objects.create(
        account=account,
        seq=seq,
        kind=kind,
        amount=amount,
        balance_after=balance + amount,
        energy=energy,
        memo=memo[:200],
        idempotency_key=idempotency_key or None,
        reverses=reverses,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
