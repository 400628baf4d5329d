"""The reconciliation sheet's figures: takings from the journal, handed over, difference, and what is
not in the takings — per payment method, per site and ten-day period."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Sum

from prepay.domain.reporting import Period
from prepay.reconciliation.actions import do_record_handover
from prepay.reports.reconciliation import period_of, periods_before, reconciliation_sheet
from prepay.reports.sales import day_bounds
from prepay.vending.actions import do_approve_reversal, do_open_shift, do_request_reversal, do_vend
from prepay.vending.models import JournalLine
from tests import factories as f

JUNE_1 = Period(date(2026, 6, 1), date(2026, 6, 10))
JUNE_11 = Period(date(2026, 6, 11), date(2026, 6, 20))
D = Decimal


def values(line) -> dict[str, Decimal]:
    return {m: v for m, v in line.values.items() if v}


class SheetTestCase:
    def test_it_adds_up_the_takings_from_the_journal(self, till):
        w = till.shop.world
        sheet = reconciliation_sheet(w.a1.site, JUNE_1)
        lines = {x.key: values(x) for x in sheet.lines}
        assert lines["sales"] == {"cash": D("120.00"), "card": D("20.00")}
        assert lines["voids"] == {"cash": D("-30.00")}
        assert lines["floats"] == {"cash": D("200.00")}
        assert values(sheet.takings) == {"cash": D("290.00"), "card": D("20.00")}
        start, end = day_bounds(JUNE_1)
        journal = JournalLine.objects.filter(
            book="cash", point__site=w.a1.site, created_at__gte=start, created_at__lt=end
        ).aggregate(s=Sum("amount"))["s"]
        assert sheet.takings.total == journal == D("310.00")
        assert values(sheet.difference) == {"cash": D("-290.00"), "card": D("-20.00")}
        assert not sheet.balanced and sheet.sign_off is None

    def test_it_lists_what_is_not_in_the_takings(self, till):
        sheet = reconciliation_sheet(till.shop.world.a1.site, JUNE_1)
        info = {x.key: x for x in sheet.info}
        assert values(info["finance_refunds"]) == {"cash": D("40.00")}
        assert info["agents"].total == D("15.00")
        assert values(info["cashup"]) == {"cash": D("-0.50")}
        assert values(info["net_sales"]) == {"cash": D("65.00"), "card": D("20.00")}
        assert info["unpointed"].total == 0 and sheet.late_reversals == 0

    def test_it_balances_once_the_takings_are_handed_over(self, till):
        w = till.shop.world
        for method, amount in (("cash", "200.00"), ("cash", "90.00"), ("card", "20.00")):
            do_record_handover(
                site=w.a1.site,
                period_start="2026-06-01",
                deposited_on="2026-06-11",  # deposited after the period: still hands it over
                amount=amount,
                method=method,
                reference=f"BOC-{method}-{amount}",
                handed_over_by="Wang",
                actor=w.finance,
            )
        sheet = reconciliation_sheet(w.a1.site, JUNE_1)
        assert values(sheet.handed) == {"cash": D("290.00"), "card": D("20.00")}
        assert sheet.balanced and sheet.difference.total == 0 and len(sheet.handovers) == 3
        assert reconciliation_sheet(w.a1.site, JUNE_11).handed.total == 0

    def test_it_keeps_sites_apart(self, till):
        w = till.shop.world
        assert reconciliation_sheet(w.a2.site, JUNE_1).takings.total == 0
        assert reconciliation_sheet(w.b1.site, JUNE_1).takings.total == 0

    def test_it_counts_a_late_reversal_in_the_period_it_was_approved(self, till, clock):
        w = till.shop.world
        clock.move_to(datetime(2026, 6, 12, 16, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
        do_open_shift(point=till.shop.point, actor=w.cashier)
        sale = till.shift.vends.get(idempotency_key="t1")
        r = do_request_reversal(vend=sale, actor=w.cashier, reason="late", token_entered=False)
        do_approve_reversal(reversal=r, actor=w.finance)  # its shift is closed: refund by finance
        assert reconciliation_sheet(w.a1.site, JUNE_1).takings.total == D("310.00")  # unchanged
        later = reconciliation_sheet(w.a1.site, JUNE_11)
        assert later.late_reversals == 1 and later.takings.total == 0
        assert values({x.key: x for x in later.info}["finance_refunds"]) == {"cash": D("50.00")}

    def test_it_splits_at_the_period_boundary(self, shop, clock):
        w = shop.world
        from prepay.vending.actions import do_close_shift

        do_close_shift(shift=shop.shift, actor=w.cashier, declared={})
        tz = ZoneInfo("Asia/Shanghai")
        clock.move_to(datetime(2026, 6, 10, 23, 59, 59, tzinfo=tz))
        do_open_shift(point=shop.point, actor=w.cashier)
        sale = do_vend(
            account=shop.account, actor=w.cashier, point=shop.point, idempotency_key="b1", amount="9"
        )
        clock.move_to(datetime(2026, 6, 11, 0, 0, 1, tzinfo=tz))
        r = do_request_reversal(vend=sale, actor=w.cashier, reason="x", token_entered=False)
        do_approve_reversal(reversal=r, actor=f.user(memberships=[(w.a1.group, None, "finance")]))
        assert values(reconciliation_sheet(w.a1.site, JUNE_1).takings) == {"cash": D("9.00")}
        assert values(reconciliation_sheet(w.a1.site, JUNE_11).takings) == {"cash": D("-9.00")}  # a void


class PeriodsTestCase:
    def test_it_knows_the_ten_day_periods(self):
        assert period_of(date(2026, 2, 21)) == Period(date(2026, 2, 21), date(2026, 2, 28))
        assert period_of(date(2028, 2, 21)) == Period(date(2028, 2, 21), date(2028, 2, 29))
        assert period_of(date(2026, 6, 2)) is None
        assert [p.start.day for p in periods_before(date(2026, 1, 5), 4)] == [1, 21, 11, 1]
        assert periods_before(date(2026, 1, 5), 4)[1].start == date(2025, 12, 21)
