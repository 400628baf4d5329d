"""Importing a provider's daily statement: WeChat Pay's trade bill and Alipay's 账务明细 read by
column name, all or nothing with the rows named, the same file twice changes nothing, finance only."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from prepay.audit.models import AuditEvent
from prepay.common.errors import ActionError, PermissionDenied
from prepay.payments.actions import do_import_statement, parse_statement
from prepay.payments.models import Statement, StatementLine
from tests.payments.statements import alipay_row, alipay_statement, wechat_bill, wechat_row

DAY = date(2026, 6, 12)


class ImportStatementTestCase:
    def test_it_reads_a_wechat_trade_bill(self):
        data = wechat_bill(
            wechat_row("2026-06-12 10:30:00", "4200001", "PA", "50.00"),
            wechat_row(
                "2026-06-12 11:00:00",
                "4200002",
                "PB",
                "20.00",
                state="REFUND",
                refund="20.00",
                refund_no="RPB",
            ),
        )
        rows = parse_statement("wechat", data)
        assert [(r.kind, r.out_trade_no, r.amount, r.refund_no) for r in rows] == [
            ("payment", "PA", Decimal("50.00"), ""),
            ("refund", "PB", Decimal("20.00"), "RPB"),
        ]
        assert rows[0].fee == Decimal("0.30") and rows[0].occurred_at.hour == 10

    def test_it_reads_an_alipay_account_statement_in_gbk_with_fees(self):
        data = alipay_statement(
            alipay_row("2026-06-12 10:30:00", "2026061222001400000001", "PA", income="50.00"),
            alipay_row("2026-06-12 10:30:00", "2026061222001400000001", "PA", expense="0.30", kind="收费"),
            alipay_row(
                "2026-06-12 12:00:00", "2026061222001400000002", "PB", expense="20.00", kind="交易退款"
            ),
            alipay_row("2026-06-12 18:00:00", "2026061222001400000003", "", expense="500.00", kind="提现"),
        )
        rows = parse_statement("alipay", data)
        assert [(r.kind, r.out_trade_no, r.amount, r.fee) for r in rows] == [
            ("payment", "PA", Decimal("50.00"), Decimal("0.30")),
            ("refund", "PB", Decimal("20.00"), Decimal("0.00")),
        ]

    def test_it_imports_and_audits_and_the_same_file_again_changes_nothing(self, pay):
        data = wechat_bill(wechat_row("2026-06-12 10:30:00", "4200001", "PA", "50.00"))
        st = do_import_statement(
            provider=pay.provider, day=DAY, filename="bill.csv", data=data, actor=pay.shop.world.finance
        )
        assert st.lines_count == 1 and st.payments == Decimal("50.00") and st.refunds == Decimal("0.00")
        again = do_import_statement(
            provider=pay.provider, day=DAY, filename="bill.csv", data=data, actor=pay.shop.world.finance
        )
        assert again.pk == st.pk and StatementLine.objects.count() == 1
        assert AuditEvent.objects.filter(verb="payment.statement").count() == 1

    def test_a_corrected_file_replaces_the_days_lines(self, pay):
        finance = pay.shop.world.finance
        do_import_statement(
            provider=pay.provider,
            day=DAY,
            filename="a.csv",
            data=wechat_bill(wechat_row("2026-06-12 10:30:00", "1", "PA", "50.00")),
            actor=finance,
        )
        data = wechat_bill(
            wechat_row("2026-06-12 10:30:00", "1", "PA", "50.00"),
            wechat_row("2026-06-12 11:30:00", "2", "PB", "5.00"),
        )
        st = do_import_statement(provider=pay.provider, day=DAY, filename="b.csv", data=data, actor=finance)
        assert Statement.objects.count() == 1 and st.lines_count == 2 and StatementLine.objects.count() == 2
        assert (
            AuditEvent.objects.filter(verb="payment.statement").order_by("id").last().before["file"]
            == "a.csv"
        )

    @pytest.mark.parametrize(
        ("data", "words"),
        [
            (b"not,a,bill\n1,2,3\n", "not a WeChat Pay trade bill"),
            (wechat_bill(wechat_row("2026-06-12 10:30:00", "1", "PA", "5O.00")), "row 2"),
            (wechat_bill(wechat_row("2026-06-11 23:59:59", "1", "PA", "50.00")), "not 2026-06-12"),
            (
                wechat_bill(wechat_row("2026-06-12 10:30:00", "1", "PA", "50.00", state="PAYERROR")),
                "unknown trade state",
            ),
        ],
    )
    def test_a_bad_file_imports_nothing_and_names_the_rows(self, pay, data, words):
        with pytest.raises(ActionError) as exc:
            do_import_statement(
                provider=pay.provider, day=DAY, filename="x.csv", data=data, actor=pay.shop.world.finance
            )
        assert exc.value.code == "statement_invalid" and words in str(exc.value)
        assert Statement.objects.count() == 0 and StatementLine.objects.count() == 0

    @pytest.mark.parametrize("who", ["cashier", "clerk", "auditor", "clerk_b"])
    def test_only_finance_and_admins_import(self, pay, who):
        data = wechat_bill(wechat_row("2026-06-12 10:30:00", "1", "PA", "50.00"))
        with pytest.raises(PermissionDenied):
            do_import_statement(
                provider=pay.provider,
                day=DAY,
                filename="x.csv",
                data=data,
                actor=getattr(pay.shop.world, who),
            )
        assert Statement.objects.count() == 0
