"""Matching a provider's statement of one day against Prepay's orders and sales (read only).

For each mismatch finance sees what the provider says, what Prepay has, and the difference:

===================== ===========================================================================
``paid_not_sold``     the statement lists a payment of an order Prepay has not sold (awaiting
                      payment, or waiting for a decision): sell it or refund it
``sold_not_paid``     Prepay sold an order paid that day (or sold at the provider's vending point
                      without an order) that the statement does not list
``amount_differs``    both list the payment, with different amounts
``missing_in_prepay`` the statement lists a payment of an order Prepay does not know, or a refund
                      Prepay did not record
``missing_in_statement`` a payment Prepay was notified of (not sold), or a refund Prepay recorded,
                      that the statement does not list
===================== ===========================================================================

Days are Beijing days (the providers' day). A refund on one day of a payment of another is matched
by order number, whatever the payment's day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prepay.common.spreadsheet import new_workbook, workbook_bytes, write_row
from prepay.payments.adapters.wechat import BEIJING
from prepay.payments.choices import LineKind, OrderStatus
from prepay.payments.models import PaymentOrder, Statement, StatementLine
from prepay.vending.models import Vend

KINDS = {
    "paid_not_sold": gettext_lazy("Paid, not sold"),
    "sold_not_paid": gettext_lazy("Sold, not in the statement"),
    "amount_differs": gettext_lazy("Amounts differ"),
    "missing_in_prepay": gettext_lazy("Not in Prepay"),
    "missing_in_statement": gettext_lazy("Not in the statement"),
}


@dataclass(frozen=True)
class Mismatch:
    kind: str
    order_number: str
    provider_trade_no: str
    statement_amount: Decimal | None
    prepay_amount: Decimal | None
    order: PaymentOrder | None = None
    row: int | None = None
    note: str = ""

    @property
    def label(self) -> str:
        return str(KINDS[self.kind])

    @property
    def difference(self) -> Decimal | None:
        if self.statement_amount is None or self.prepay_amount is None:
            return None
        return self.statement_amount - self.prepay_amount


def _day_bounds(statement: Statement) -> tuple[datetime, datetime]:
    start = datetime.combine(statement.day, time.min, tzinfo=BEIJING)
    return start, start + timedelta(days=1)


def _payment_mismatch(line: StatementLine, order: PaymentOrder | None) -> Mismatch | None:
    if order is None:
        return Mismatch(
            "missing_in_prepay", line.out_trade_no, line.provider_trade_no, line.amount, None, row=line.row
        )
    if order.status == OrderStatus.SOLD:
        sold = order.vend.amount if order.vend is not None else order.amount
        if sold != line.amount:
            return Mismatch(
                "amount_differs", order.number, line.provider_trade_no, line.amount, sold, order, line.row
            )
        return None
    if order.status == OrderStatus.REFUNDED:
        return None
    note = order.problem or OrderStatus(order.status).label
    return Mismatch(
        "paid_not_sold", order.number, line.provider_trade_no, line.amount, None, order, line.row, str(note)
    )


def mismatches(statement: Statement) -> list[Mismatch]:
    """Every disagreement between ``statement`` and Prepay (see the module docstring)."""
    provider = statement.provider
    lines = list(statement.lines.order_by("row"))
    numbers = {line.out_trade_no for line in lines if line.out_trade_no}
    trades = {line.provider_trade_no for line in lines if line.provider_trade_no}
    start, end = _day_bounds(statement)
    orders = {
        o.number: o
        for o in PaymentOrder.objects.filter(provider=provider)
        .filter(
            Q(number__in=numbers)
            | Q(provider_trade_no__in=trades)
            | Q(paid_at__gte=start, paid_at__lt=end)
            | Q(refunded_at__gte=start, refunded_at__lt=end)
        )
        .select_related("vend", "account")
    }
    by_trade = {o.provider_trade_no: o for o in orders.values() if o.provider_trade_no}
    out: list[Mismatch] = []
    paid_numbers: set[str] = set()
    refunded_numbers: set[str] = set()
    for line in lines:
        order = orders.get(line.out_trade_no) or by_trade.get(line.provider_trade_no)
        if line.kind == LineKind.PAYMENT:
            paid_numbers.add(order.number if order is not None else line.out_trade_no)
            found = _payment_mismatch(line, order)
            if found is not None:
                out.append(found)
        else:
            refunded_numbers.add(order.number if order is not None else line.out_trade_no)
            if order is None or order.status != OrderStatus.REFUNDED:
                out.append(
                    Mismatch(
                        "missing_in_prepay",
                        line.out_trade_no,
                        line.provider_trade_no,
                        -line.amount,
                        None,
                        order,
                        line.row,
                        _("a refund Prepay did not record"),
                    )
                )
    out += _prepay_side(statement, orders, paid_numbers, refunded_numbers)
    return out


def _prepay_side(
    statement: Statement, orders: dict[str, PaymentOrder], paid: set[str], refunded: set[str]
) -> list[Mismatch]:
    """What Prepay has for the day that the statement does not list."""
    start, end = _day_bounds(statement)
    out: list[Mismatch] = []
    for order in sorted(orders.values(), key=lambda o: o.number):
        paid_today = order.paid_at is not None and start <= order.paid_at < end
        if paid_today and order.number not in paid:
            kind = "sold_not_paid" if order.status == OrderStatus.SOLD else "missing_in_statement"
            prepay = order.vend.amount if order.vend is not None else order.paid_amount
            out.append(Mismatch(kind, order.number, order.provider_trade_no, None, prepay, order))
        refunded_today = order.refunded_at is not None and start <= order.refunded_at < end
        if refunded_today and order.number not in refunded:
            out.append(
                Mismatch(
                    "missing_in_statement",
                    order.number,
                    order.provider_trade_no,
                    None,
                    -(order.paid_amount or order.amount),
                    order,
                    note=_("a refund the statement does not list"),
                )
            )
    strays = Vend.objects.filter(
        point_id=statement.provider.point_id,
        created_at__gte=start,
        created_at__lt=end,
        payment_order__isnull=True,
    ).order_by("pk")
    for vend in strays:
        out.append(
            Mismatch(
                "sold_not_paid",
                vend.receipt_no,
                vend.reference,
                None,
                vend.amount,
                note=_("a sale without an order"),
            )
        )
    return out


def export(statement: Statement, found: list[Mismatch]) -> bytes:
    """The mismatches as an Excel workbook (written through prepay.common.spreadsheet)."""
    wb, ws = new_workbook(_("Reconciliation"))
    write_row(ws, 1, [_("Provider"), str(statement.provider), _("Day"), statement.day])
    head = [
        _("Mismatch"),
        _("Order number"),
        _("Provider's transaction"),
        _("Account"),
        _("Statement amount"),
        _("Prepay amount"),
        _("Difference"),
        _("Order status"),
        _("Statement row"),
        _("Note"),
    ]
    write_row(ws, 3, head)
    for i, m in enumerate(found, start=4):
        order: Any = m.order
        write_row(
            ws,
            i,
            [
                m.label,
                m.order_number,
                m.provider_trade_no,
                order.account.number if order is not None else "",
                m.statement_amount,
                m.prepay_amount,
                m.difference,
                str(OrderStatus(order.status).label) if order is not None else "",
                m.row,
                m.note,
            ],
        )
    return workbook_bytes(wb)
