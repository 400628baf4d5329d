"""Rows for report tests, written directly (test setup, not business actions).

``sale`` writes what a completed vend leaves behind: the Vend, the customer ledger entries (payment
then vend for a local-control account) and balanced journal lines (cash / customer).
"""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from prepay.customers.models import Account
from prepay.vending.models import JournalLine, LedgerEntry, Vend, VendingPoint

_n = itertools.count(1)


def point(site: Any, code: str = "c1", **kw: Any) -> VendingPoint:
    return VendingPoint.objects.create(site=site, code=code, name=kw.pop("name", f"Counter {code}"), **kw)


def entry(
    account: Account, kind: str, amount: str | Decimal, *, at: datetime | None = None, **kw: Any
) -> LedgerEntry:
    """Append a ledger entry with the right seq and balance_after; ``at`` back-dates it."""
    last = LedgerEntry.objects.filter(account=account).order_by("-seq").first()
    seq, balance = (last.seq + 1, last.balance_after) if last else (1, Decimal("0.00"))
    e = LedgerEntry.objects.create(
        account=account,
        seq=seq,
        kind=kind,
        amount=Decimal(amount),
        balance_after=balance + Decimal(amount),
        **kw,
    )
    if at is not None:
        LedgerEntry.objects.filter(pk=e.pk).update(created_at=at)
        e.refresh_from_db()
    return e


def sale(
    account: Account,
    pt: VendingPoint,
    amount: str,
    *,
    by: Any = None,
    method: str = "cash",
    energy: str | None = None,
    at: datetime | None = None,
    status: str = "completed",
    arrears: str = "0",
) -> Vend:
    amt, arr = Decimal(amount), Decimal(arrears)
    n = next(_n)
    installation = account.installations.filter(ended_at=None).first()
    v = Vend.objects.create(
        account=account,
        meter=installation.meter if installation else None,
        point=pt,
        method=method,
        amount=amt,
        arrears_recovered=arr,
        credit_amount=amt - arr,
        energy=Decimal(energy) if energy is not None else (amt - arr) / Decimal("0.5"),
        receipt_no=f"{pt.code.upper()}-{n:06d}",
        idempotency_key=f"test-vend-{n}",
        created_by=by,
        status=status,
    )
    pay = entry(account, "payment", amt, at=at, created_by=by)
    loaded = entry(account, "vend", -(amt - arr), at=at, created_by=by)
    journal = uuid.uuid4()
    for line_amount, book, e in ((amt, "cash", pay), (-amt, "customer", pay)):
        JournalLine.objects.create(
            journal=journal,
            book=book,
            amount=line_amount,
            site=account.site,
            account=account,
            point=pt,
            method=method,
            entry=e,
        )
    del loaded
    if at is not None:
        Vend.objects.filter(pk=v.pk).update(created_at=at)
        JournalLine.objects.filter(journal=journal).update(created_at=at)
        v.refresh_from_db()
    return v


def reversal(vend: Vend, *, by: Any, decided_by: Any, at: datetime | None = None, void: bool = True) -> Any:
    """Write what an approved reversal of ``vend`` leaves behind: the Reversal (decided ``at``), the
    reversal and refund entries and the refund's journal lines — the cash line names the vend's point
    for a void, no point for a refund paid by finance (prepay/vending/reversals.py)."""
    from django.utils import timezone

    from prepay.vending.models import Reversal

    at = at or timezone.now()
    r = Reversal.objects.create(
        kind="reversal",
        account=vend.account,
        vend=vend,
        amount=vend.amount,
        method=vend.method,
        reason="test",
        token_entered=False,
        requested_by=by,
        point=vend.point,
        status="approved",
        decided_by=decided_by,
        decided_at=at,
    )
    credit = vend.credit_amount
    entry(vend.account, "reversal", credit, at=at, energy=-(vend.energy or Decimal(0)))
    pay = entry(vend.account, "refund", -vend.amount, at=at, idempotency_key=f"reversal:{r.pk}:pay")
    journal = uuid.uuid4()
    for line_amount, book, point, account in (
        (-vend.amount, "cash", vend.point if void else None, None),
        (vend.amount, "customer", None, vend.account),
    ):
        JournalLine.objects.create(
            journal=journal,
            book=book,
            amount=line_amount,
            site=vend.account.site,
            account=account,
            point=point,
            method=vend.method if book == "cash" else "",
            entry=pay,
        )
    JournalLine.objects.filter(journal=journal).update(created_at=at)
    Vend.objects.filter(pk=vend.pk).update(status="reversed")
    Reversal.objects.filter(pk=r.pk).update(requested_at=at)
    r.refresh_from_db()
    return r


def statements(client: Any, url: str, params: dict[str, Any]) -> int:
    """The SQL statements one GET of ``url`` sends (counted as they go: the request's own start
    would clear Django's query log under a capture); the page must answer 200."""
    from django.db import connection

    seen: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        page = client.get(url, params)
    assert page.status_code == 200
    return len(seen)


def refused(code: str, fn: Any, /, **kwargs: Any) -> Any:
    """``tests.helpers.refused`` that also proves no handover or sign-off was written."""
    from prepay.reconciliation.models import Handover, SignOff
    from tests import helpers

    before = (Handover.objects.count(), SignOff.objects.count())
    error = helpers.refused(code, fn, **kwargs)
    assert (Handover.objects.count(), SignOff.objects.count()) == before
    return error
