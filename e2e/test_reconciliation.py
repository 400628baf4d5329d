"""Finance reconciles a site's ten-day period in the browser: opens the sheet, records the money handed
over (上缴) by cash and by card, sees the difference go to zero and signs the period off."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from prepay.audit.models import AuditEvent
from prepay.domain.reporting import previous_ten_day_period, ten_day_period
from prepay.reconciliation.models import Handover, SignOff
from prepay.vending.actions import do_close_shift, do_open_shift, do_vend, shift_summary

pytestmark = pytest.mark.e2e


def trade_in_the_last_period(shop) -> object:
    """Sell 50.00 cash and 20.00 card at A1 on the third day of the previous ten-day period, cashed up."""
    w = shop.world
    do_close_shift(shift=shop.shift, actor=w.cashier, declared={})
    period = previous_ten_day_period(ten_day_period(timezone.localdate()))
    moment = datetime.combine(
        period.start + timedelta(days=2), time(10, 0), tzinfo=timezone.get_current_timezone()
    )
    with time_machine.travel(moment, tick=False):
        shift = do_open_shift(point=shop.point, actor=w.cashier)
        for key, amount, method in (("r1", "50.00", "cash"), ("r2", "20.00", "card")):
            do_vend(
                account=shop.account,
                actor=w.cashier,
                point=shop.point,
                idempotency_key=key,
                amount=amount,
                method=method,
            )
        do_close_shift(shift=shift, actor=w.cashier, declared=shift_summary(shift)["expected"])
    return period


def record(page, amount: str, method: str, reference: str) -> None:
    page.click("#record-handover")
    page.wait_for_selector("#handover-form")
    page.select_option("#id_method", method)
    page.fill("#id_amount", amount)
    page.fill("#id_reference", reference)
    page.fill("#id_handed_over_by", "Wang Fang")
    page.click("#handover-submit")
    page.wait_for_selector("#takings")


class FinanceReconcilesTestCase:
    def test_it_records_the_handover_and_signs_off(self, e2e_db, shop, live_server, page, login, shot):
        period = trade_in_the_last_period(shop)
        w = shop.world
        login(page, w.finance)
        page.goto(f"{live_server.url}/reports/")
        page.click("#link-reconciliation")
        row = page.locator(f"[data-testid='period-{w.a1.site.pk}-{period.start.isoformat()}']")
        assert "Awaiting sign-off" in row.inner_text()
        shot(page, "1-periods")
        row.locator("a").click()
        page.wait_for_selector("#takings")
        assert page.inner_text("#takings-cash") == "50.00" and page.inner_text("#difference-card") == "-20.00"
        shot(page, "2-sheet")

        record(page, "50", "cash", "BOC-0001")
        assert page.inner_text("#difference-cash") == "0.00"
        record(page, "20.00", "card", "POS-SETTLE-7")
        assert page.inner_text("#difference-total") == "0.00" and "POS-SETTLE-7" in page.inner_text(
            "#handovers"
        )
        shot(page, "3-handed-over")

        page.fill("#id_note", "all deposited")
        page.click("#sign-off-submit")
        page.wait_for_selector("#signed-off")
        assert page.locator("#record-handover").count() == 0 and page.locator("#sign-off-form").count() == 0
        shot(page, "4-signed-off")
        sign_off = SignOff.objects.get()
        assert (sign_off.signed_by, sign_off.figures["difference"]["cash"]) == (w.finance, "0.00")
        assert Handover.objects.count() == 2
        assert AuditEvent.objects.filter(verb="reconciliation.sign_off", site_id=w.a1.site.pk).exists()

        page.goto(f"{live_server.url}/reports/reconciliation/")
        assert (
            "Signed off"
            in page.locator(f"[data-testid='period-{w.a1.site.pk}-{period.start.isoformat()}']").inner_text()
        )

    def test_it_keeps_a_cashier_out(self, e2e_db, shop, live_server, page, login, shot):
        login(page, shop.world.cashier)
        start = ten_day_period(timezone.localdate()).start.isoformat()
        response = page.goto(f"{live_server.url}/reports/reconciliation/{shop.world.a1.site.pk}/{start}/")
        assert response is not None and response.status == 403
        shot(page, "1-refused")
