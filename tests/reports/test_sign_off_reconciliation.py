"""do_sign_off_reconciliation: finance signs a site's ten-day sheet off — figures kept in the audit log,
the period locked — or is refused with a clear message and nothing changed."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from prepay.audit.models import AuditEvent
from prepay.reconciliation.actions import do_record_handover, do_sign_off_reconciliation
from prepay.reconciliation.models import SignOff
from prepay.reports.reconciliation import period_of, reconciliation_sheet
from prepay.vending.actions import do_approve_reversal, do_open_shift, do_request_reversal
from tests import factories as f
from tests.reports.builders import refused


def hand_over_everything(till) -> None:
    w = till.shop.world
    for method, amount in (("cash", "290.00"), ("card", "20.00")):
        do_record_handover(
            site=w.a1.site,
            period_start="2026-06-01",
            deposited_on="2026-06-10",
            amount=amount,
            method=method,
            reference=f"REF-{method}",
            handed_over_by="Wang",
            actor=w.finance,
        )


def sign(till, **kw):
    w = till.shop.world
    return {"site": w.a1.site, "period_start": "2026-06-01", "actor": w.finance} | kw


class SignOffTestCase:
    def test_it_signs_off_keeping_the_figures_in_the_audit_log(self, till):
        hand_over_everything(till)
        s = do_sign_off_reconciliation(**sign(till))
        assert (s.period_start.isoformat(), s.period_end.isoformat(), s.signed_by) == (
            "2026-06-01",
            "2026-06-10",
            till.shop.world.finance,
        )
        assert s.figures["takings"]["cash"] == "290.00" and s.figures["difference"]["card"] == "0.00"
        event = AuditEvent.objects.filter(verb="reconciliation.sign_off").get()
        assert (
            event.after["takings"] == s.figures["takings"]
            and event.after["period"] == "2026-06-01/2026-06-10"
        )
        sheet = reconciliation_sheet(till.shop.world.a1.site, period_of(s.period_start))
        assert sheet.sign_off == s and not sheet.changed_since_sign_off

    def test_it_signs_off_a_difference_that_is_explained(self, till):
        s = do_sign_off_reconciliation(**sign(till, actor=till.shop.world.admin, note="deposit on Monday"))
        assert s.note == "deposit on Monday" and s.figures["difference"]["cash"] == "-290.00"

    def test_it_leaves_a_signed_period_alone_when_a_sale_is_reversed_later(self, till):
        w = till.shop.world
        hand_over_everything(till)
        s = do_sign_off_reconciliation(**sign(till))
        do_open_shift(point=till.shop.point, actor=w.cashier)
        sale = till.shift.vends.get(idempotency_key="t2")
        r = do_request_reversal(vend=sale, actor=w.cashier, reason="late", token_entered=False)
        do_approve_reversal(reversal=r, actor=w.finance)
        sheet = reconciliation_sheet(w.a1.site, period_of(s.period_start))
        assert not sheet.changed_since_sign_off and sheet.balanced
        later = reconciliation_sheet(w.a1.site, period_of(s.period_end.replace(day=11)))
        assert later.late_reversals == 1

    @pytest.mark.parametrize(
        ("period_start", "code"),
        [("2026-06-05", "invalid_period"), ("nonsense", "invalid_period"), ("2026-06-11", "period_not_over")],
    )
    def test_it_refuses_a_period_it_cannot_sign(self, till, period_start, code):
        refused(code, do_sign_off_reconciliation, **sign(till, period_start=period_start))

    def test_it_refuses_to_sign_twice(self, till):
        do_sign_off_reconciliation(**sign(till, note="short"))
        error = refused(
            "already_signed_off", do_sign_off_reconciliation, **sign(till, actor=till.shop.world.admin)
        )
        assert "was signed off by finance_a" in str(error.message)

    def test_it_refuses_an_unexplained_difference(self, till):
        error = refused("note_required", do_sign_off_reconciliation, **sign(till))
        assert "say why" in str(error.message)
        refused("note_required", do_sign_off_reconciliation, **sign(till, note="   "))

    def test_it_refuses_while_a_shift_of_the_period_is_open(self, till, clock):
        w = till.shop.world
        clock.move_to(datetime(2026, 6, 9, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
        do_open_shift(point=till.shop.point, actor=w.cashier)
        clock.move_to(datetime(2026, 6, 12, 15, 30, tzinfo=ZoneInfo("Asia/Shanghai")))
        error = refused("shift_open", do_sign_off_reconciliation, **sign(till, note="x"))
        assert "cashier_a1" in str(error.message) and "Counter 1" in str(error.message)

    @pytest.mark.parametrize("role", ["cashier", "clerk", "auditor"])
    def test_it_refuses_a_wrong_role(self, till, role):
        refused(
            "forbidden",
            do_sign_off_reconciliation,
            **sign(till, actor=getattr(till.shop.world, role), note="x"),
        )

    def test_it_refuses_an_outsider(self, till):
        w = till.shop.world
        outsider = f.user(memberships=[(w.b1.group, None, "finance")])
        refused("forbidden", do_sign_off_reconciliation, **sign(till, actor=outsider, note="x"))
        assert SignOff.objects.count() == 0
