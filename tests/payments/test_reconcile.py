"""Reconciliation: a day's statement against Prepay's orders and sales — paid not sold, sold not
paid, amounts that differ, missing on either side — and its Excel export (no formula anywhere)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook

from prepay.payments.actions import do_import_statement, do_refund_order
from prepay.payments.reconcile import export, mismatches
from prepay.tenancy.models import Site
from prepay.vending.actions import do_vend
from tests.payments.statements import wechat_bill, wechat_row

DAY = date(2026, 6, 12)


def _paid(pay, amount="50.00", *, unsellable=False, **kw):
    """An order paid and notified; ``unsellable``: the sale is refused (a limit lowered meanwhile)."""
    order = pay.order(amount)
    site = Site.objects.filter(pk=pay.shop.world.a1.site.pk)
    if unsellable:
        site.update(max_sale_amount=Decimal("10.00"))
    pay.post(*pay.signed(order, **kw))
    site.update(max_sale_amount=Decimal("50000.00"))
    order.refresh_from_db()
    return order


def _stamp(order) -> str:
    from prepay.payments.adapters.wechat import BEIJING

    return order.paid_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


class ReconcileTestCase:
    def test_a_matching_statement_has_no_mismatch(self, pay, clock):
        order = _paid(pay)
        data = wechat_bill(wechat_row(_stamp(order), order.provider_trade_no, order.number, "50.00"))
        st = do_import_statement(
            provider=pay.provider, day=DAY, filename="b.csv", data=data, actor=pay.shop.world.finance
        )
        assert mismatches(st) == []

    def test_it_lists_every_kind_of_mismatch(self, pay, clock):
        sold = _paid(pay, "50.00")
        differs = _paid(pay, "20.00")
        unsold_order = pay.order("30.00")  # paid at the provider, notification never arrived
        waiting = _paid(pay, "40.00", unsellable=True)  # notified, not sold, missing from the statement
        also_sold = _paid(pay, "15.00")
        stray = do_vend(
            account=pay.shop.account,
            actor=pay.provider.user,
            point=pay.point,
            amount="5.00",
            method="online",
            reference="manual",
            idempotency_key="stray",
        )
        data = wechat_bill(
            wechat_row(_stamp(differs), differs.provider_trade_no, differs.number, "21.00"),
            wechat_row("2026-06-12 09:00:00", "4209999", unsold_order.number, "30.00"),
            wechat_row("2026-06-12 09:30:00", "4208888", "PUNKNOWN", "9.00"),
            wechat_row(_stamp(also_sold), also_sold.provider_trade_no, also_sold.number, "15.00"),
            wechat_row(
                "2026-06-12 16:00:00",
                "4207777",
                "PNEVER",
                "0.00",
                state="REFUND",
                refund="7.00",
                refund_no="RX",
            ),
        )
        st = do_import_statement(
            provider=pay.provider, day=DAY, filename="b.csv", data=data, actor=pay.shop.world.finance
        )
        found = {(m.kind, m.order_number) for m in mismatches(st)}
        assert ("sold_not_paid", sold.number) in found
        assert ("amount_differs", differs.number) in found
        assert ("paid_not_sold", unsold_order.number) in found
        assert ("missing_in_prepay", "PUNKNOWN") in found
        assert ("missing_in_statement", waiting.number) in found
        assert ("missing_in_prepay", "PNEVER") in found
        assert ("sold_not_paid", stray.receipt_no) in found
        assert not any(number == also_sold.number for _kind, number in found)
        m = next(m for m in mismatches(st) if m.kind == "amount_differs")
        assert (m.statement_amount, m.prepay_amount, m.difference) == (
            Decimal("21.00"),
            Decimal("20.00"),
            Decimal("1.00"),
        )

    def test_a_refund_recorded_in_prepay_is_matched(self, pay, clock):
        order = _paid(pay, "40.00", unsellable=True)
        do_refund_order(order=order, actor=pay.shop.world.finance, reason="limit")
        order.refresh_from_db()
        data = wechat_bill(
            wechat_row(_stamp(order), order.provider_trade_no, order.number, "40.00"),
            wechat_row(
                "2026-06-12 16:00:00",
                order.provider_trade_no,
                order.number,
                "40.00",
                state="REFUND",
                refund="40.00",
                refund_no=order.refund_no,
            ),
        )
        st = do_import_statement(
            provider=pay.provider, day=DAY, filename="b.csv", data=data, actor=pay.shop.world.finance
        )
        assert mismatches(st) == []
        only_payment = wechat_bill(wechat_row(_stamp(order), order.provider_trade_no, order.number, "40.00"))
        st = do_import_statement(
            provider=pay.provider, day=DAY, filename="c.csv", data=only_payment, actor=pay.shop.world.finance
        )
        assert [m.kind for m in mismatches(st)] == ["missing_in_statement"]

    def test_the_export_is_a_workbook_without_formulas(self, pay, clock):
        data = wechat_bill(wechat_row("2026-06-12 09:30:00", "4208888", "=HYPERLINK(1)", "9.00"))
        st = do_import_statement(
            provider=pay.provider, day=DAY, filename="b.csv", data=data, actor=pay.shop.world.finance
        )
        book = load_workbook(io.BytesIO(export(st, mismatches(st))))
        ws = book.active
        values = [[c.value for c in row] for row in ws.iter_rows()]
        assert values[2][0] == "Mismatch" and values[3][1] == "=HYPERLINK(1)" and values[3][4] == 9
        assert ws.cell(row=4, column=2).data_type == "s"
