"""Importing a provider's daily statement (finance: capability ``billing.run``), all or nothing.

The file is read by the provider's own parser (WeChat Pay's trade bill; Alipay's 账务明细; the
simulated provider writes WeChat's format). Every row must read and fall on the statement's day
(Beijing time, the providers' day); otherwise nothing is imported and the rows are named. Importing
the same file again changes nothing; another file for the same day replaces the day's lines (both
files' SHA-256 in the audit event).
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from prepay.audit.actions import record_event
from prepay.common.actions import locked
from prepay.payments.adapters.base import StatementRow, statement_error
from prepay.payments.choices import LineKind, ProviderKind
from prepay.payments.models import PaymentProvider, Statement, StatementLine
from prepay.tenancy.scoping import require

MAX_BYTES = 20 * 1024 * 1024


def parse_statement(kind: str, data: bytes) -> list[StatementRow]:
    """The rows of a statement file in the format of a provider of ``kind``."""
    if kind == ProviderKind.ALIPAY:
        from prepay.payments.adapters.alipay import parse_account_statement

        return parse_account_statement(data)
    from prepay.payments.adapters.wechat import parse_trade_bill

    return parse_trade_bill(data)


def _rows_of_day(kind: str, data: bytes, day: date) -> list[StatementRow]:
    from prepay.payments.adapters.wechat import BEIJING

    if len(data) > MAX_BYTES:
        raise statement_error([(0, _("the file is larger than 20 MB"))])
    rows = parse_statement(kind, data)
    wrong = [
        (r.row, _("dated %(d)s, not %(day)s") % {"d": r.occurred_at.astimezone(BEIJING).date(), "day": day})
        for r in rows
        if r.occurred_at.astimezone(BEIJING).date() != day
    ]
    if wrong:
        raise statement_error(wrong)
    return rows


@transaction.atomic
def do_import_statement(
    *, provider: PaymentProvider, day: date, filename: str, data: bytes, actor: Any
) -> Statement:
    """Import the statement of ``day`` for ``provider``; returns it (the existing one when the same
    file was imported before)."""
    provider = locked(PaymentProvider, provider.pk)
    require(actor, "billing.run", group_id=provider.group_id, site_id=provider.site_id)
    rows = _rows_of_day(provider.kind, data, day)
    digest = hashlib.sha256(data).hexdigest()
    statement = Statement.objects.select_for_update().filter(provider=provider, day=day).first()
    before = None
    if statement is not None:
        if statement.sha256 == digest:
            return statement
        before = {"file": statement.filename, "sha256": statement.sha256, "lines": statement.lines_count}
        statement.lines.all().delete()
    else:
        statement = Statement(provider=provider, day=day)
    payments = sum((r.amount for r in rows if r.kind == LineKind.PAYMENT), Decimal("0.00"))
    refunds = sum((r.amount for r in rows if r.kind == LineKind.REFUND), Decimal("0.00"))
    statement.filename, statement.sha256, statement.imported_by = filename[:200], digest, actor
    statement.payments, statement.refunds, statement.lines_count = payments, refunds, len(rows)
    statement.save()
    StatementLine.objects.bulk_create(
        StatementLine(
            statement=statement,
            row=r.row,
            kind=r.kind,
            occurred_at=r.occurred_at,
            out_trade_no=r.out_trade_no,
            provider_trade_no=r.provider_trade_no,
            amount=r.amount,
            fee=r.fee,
            refund_no=r.refund_no,
        )
        for r in rows
    )
    record_event(
        actor=actor,
        verb="payment.statement",
        obj=statement,
        group_id=provider.group_id,
        site_id=provider.site_id,
        before=before,
        after={
            "provider": provider.code,
            "day": day.isoformat(),
            "file": statement.filename,
            "sha256": digest,
            "lines": len(rows),
            "payments": str(payments),
            "refunds": str(refunds),
        },
    )
    return statement
