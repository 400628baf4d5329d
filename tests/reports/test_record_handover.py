"""do_record_handover: money handed over (上缴) for a site's ten-day period — recorded with its audit
event, or refused with a clear message and nothing changed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from prepay.audit.models import AuditEvent
from prepay.reconciliation.actions import do_record_handover, do_sign_off_reconciliation
from prepay.reconciliation.models import Handover
from tests import factories as f
from tests.reports.builders import refused


def record(till, **kw):
    w = till.shop.world
    args = {
        "site": w.a1.site,
        "period_start": "2026-06-01",
        "deposited_on": "2026-06-11",
        "amount": "290.00",
        "reference": "BOC-0611-001",
        "handed_over_by": "Wang Fang",
        "actor": w.finance,
    }
    return args | kw


class RecordHandoverTestCase:
    def test_it_records_a_deposit_for_the_period_with_its_audit_event(self, till):
        h = do_record_handover(**record(till, note="two bags"))
        assert (h.period_start, h.deposited_on, h.amount, h.method) == (
            date(2026, 6, 1),
            date(2026, 6, 11),
            Decimal("290.00"),
            "cash",
        )
        assert (h.reference, h.handed_over_by, h.recorded_by, h.note) == (
            "BOC-0611-001",
            "Wang Fang",
            till.shop.world.finance,
            "two bags",
        )
        event = AuditEvent.objects.filter(verb="reconciliation.handover").get()
        assert event.after["amount"] == "290.00" and event.after["period"] == "2026-06-01"
        assert event.site_id == till.shop.world.a1.site.pk

    def test_it_lets_an_admin_record_by_card(self, till):
        h = do_record_handover(**record(till, actor=till.shop.world.admin, method="card", amount="20"))
        assert h.method == "card" and h.amount == Decimal("20.00")

    @pytest.mark.parametrize(
        ("change", "code"),
        [
            ({"period_start": "2026-06-02"}, "invalid_period"),
            ({"period_start": "June"}, "invalid_period"),
            ({"period_start": "2026-06-21"}, "future_period"),
            ({"deposited_on": "11/06/2026"}, "invalid_date"),
            ({"deposited_on": "2026-06-13"}, "future_date"),
            ({"deposited_on": "2026-05-31"}, "date_before_period"),
            ({"amount": "0"}, "invalid_amount"),
            ({"amount": "-5"}, "invalid_amount"),
            ({"amount": "1E+2"}, "invalid_amount"),
            ({"amount": "1.005"}, "invalid_amount"),
            ({"amount": "9999999999999"}, "invalid_amount"),
            ({"method": "cheque"}, "invalid_method"),
            ({"reference": "  "}, "reference_required"),
            ({"handed_over_by": ""}, "who_required"),
        ],
    )
    def test_it_refuses_what_makes_no_sense(self, till, change, code):
        refused(code, do_record_handover, **record(till, **change))

    def test_it_refuses_a_reference_recorded_twice_at_the_site(self, till):
        do_record_handover(**record(till))
        error = refused("duplicate_reference", do_record_handover, **record(till, amount="1.00"))
        assert "BOC-0611-001" in str(error.message)
        other = till.shop.world.a2.site  # the same slip number at another site is another deposit
        assert do_record_handover(**record(till, site=other)).site == other

    def test_it_refuses_a_signed_off_period(self, till):
        w = till.shop.world
        do_record_handover(**record(till))
        do_record_handover(**record(till, method="card", amount="20.00", reference="POS-1"))
        do_sign_off_reconciliation(site=w.a1.site, period_start="2026-06-01", actor=w.finance)
        error = refused("period_signed_off", do_record_handover, **record(till, reference="late"))
        assert "2026-06-01 – 2026-06-10 was signed off by finance_a" in str(error.message)

    @pytest.mark.parametrize("role", ["cashier", "clerk", "auditor"])
    def test_it_refuses_a_wrong_role(self, till, role):
        refused("forbidden", do_record_handover, **record(till, actor=getattr(till.shop.world, role)))

    def test_it_refuses_an_outsider(self, till):
        w = till.shop.world
        outsider = f.user(memberships=[(w.b1.group, None, "finance")])
        refused("forbidden", do_record_handover, **record(till, actor=outsider))
        a2_finance = f.user(memberships=[(w.a1.group, w.a2.site, "finance")])
        refused("forbidden", do_record_handover, **record(till, actor=a2_finance))

    def test_it_speaks_chinese(self, till):
        from django.utils import translation

        with translation.override("zh-hans"):
            error = refused("reference_required", do_record_handover, **record(till, reference=""))
        assert "银行" in str(error.message)
        assert Handover.objects.count() == 0
