"""The reconciliation screens: the list of periods, the sheet (Excel, PDF), recording a handover and
signing off — for finance and admins; auditors look only; cashiers and clerks 403; outsiders 404."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from prepay.reconciliation.models import Handover, SignOff
from prepay.reports.reconciliation import reconciliation_sheet
from tests import factories as f
from tests.reports.builders import statements

LIST = reverse("reports:reconciliation")


def _statements(client, params: dict) -> int:
    """The SQL statements the list of periods runs for ``params``."""
    return statements(client, LIST, params)


def urls(till, start: str = "2026-06-01", site=None) -> dict[str, str]:
    site_id = (site or till.shop.world.a1.site).pk
    return {
        "sheet": reverse("reports:reconciliation-sheet", args=[site_id, start]),
        "handover": reverse("reports:reconciliation-handover", args=[site_id, start]),
        "sign_off": reverse("reports:reconciliation-sign-off", args=[site_id, start]),
    }


HANDOVER = {
    "deposited_on": "2026-06-11",
    "method": "cash",
    "amount": "290.00",
    "reference": "BOC-1",
    "handed_over_by": "Wang Fang",
    "note": "",
}


class PeriodsListTestCase:
    def test_it_lists_the_periods_of_every_site_for_finance(self, client, till):
        client.force_login(till.shop.world.finance)
        page = client.get(LIST)
        assert page.status_code == 200
        rows = page.context["rows"]
        assert {r["site"].name for r in rows} == {"Site a1", "Site a2"} and len(rows) == 12
        june = next(
            r for r in rows if r["site"].name == "Site a1" and r["period"].start.isoformat() == "2026-06-01"
        )
        assert (june["takings"], june["handed"], june["over"], june["sign_off"]) == (
            Decimal("310.00"),
            0,
            True,
            None,
        )

    def test_each_row_holds_its_sheets_figures_read_in_the_same_queries_for_one_site_or_two(
        self, client, till
    ):
        w = till.shop.world

        def handed(start: date, on: date, method: str, amount: str, reference: str) -> None:
            Handover.objects.create(
                site=w.a1.site,
                period_start=start,
                deposited_on=on,
                method=method,
                amount=Decimal(amount),
                reference=reference,
                handed_over_by="Wang Fang",
                recorded_by=w.finance,
            )

        handed(date(2026, 6, 1), date(2026, 6, 11), "cash", "250.00", "BOC-1")
        handed(date(2026, 6, 11), date(2026, 6, 12), "card", "5.00", "BOC-2")
        client.force_login(w.finance)
        one = _statements(client, {"site": w.a1.site.pk})
        both = _statements(client, {})
        assert one == both
        rows = client.get(LIST).context["rows"]
        june = {r["period"].start.isoformat(): r for r in rows if r["site"] == w.a1.site}
        assert (june["2026-06-01"]["takings"], june["2026-06-01"]["difference"]) == (
            Decimal("310.00"),
            Decimal("-60.00"),  # cash 250.00 - 290.00, card 0 - 20.00
        )
        assert (june["2026-06-11"]["handed"], june["2026-06-11"]["balanced"]) == (Decimal("5.00"), False)
        for r in rows:
            sheet = reconciliation_sheet(r["site"], r["period"])
            assert (r["takings"], r["handed"], r["difference"], r["balanced"]) == (
                sheet.takings.total,
                sheet.handed.total,
                sheet.difference.total,
                sheet.balanced,
            ), r["period"]

    def test_it_filters_by_site_and_shows_an_auditor_only_theirs(self, client, till):
        w = till.shop.world
        client.force_login(w.finance)
        assert {r["site"].pk for r in client.get(LIST, {"site": w.a2.site.pk}).context["rows"]} == {
            w.a2.site.pk
        }
        assert client.get(LIST, {"site": "99999999999999"}).context["rows"] == []
        client.force_login(w.auditor)
        assert {r["site"].pk for r in client.get(LIST).context["rows"]} == {w.a1.site.pk}

    @pytest.mark.parametrize("role", ["cashier", "clerk"])
    def test_it_refuses_cashiers_and_clerks(self, client, till, role):
        client.force_login(getattr(till.shop.world, role))
        assert client.get(LIST).status_code == 403

    def test_it_shows_an_outsider_only_their_group(self, client, till):
        client.force_login(f.user(memberships=[(till.shop.world.b1.group, None, "finance")]))
        assert {r["site"].name for r in client.get(LIST).context["rows"]} == {"Site b1"}

    def test_it_sends_anonymous_users_to_login(self, client, till):
        assert client.get(LIST).status_code == 302


class SheetViewTestCase:
    def test_it_shows_the_sheet_with_the_way_to_hand_over_and_sign_off(self, client, till):
        client.force_login(till.shop.world.finance)
        page = client.get(urls(till)["sheet"])
        html = page.content.decode()
        assert page.status_code == 200
        assert 'id="takings-cash">290.00<' in html and 'id="difference-cash">-290.00<' in html
        assert 'id="record-handover"' in html and 'id="sign-off-form"' in html

    def test_it_shows_an_auditor_the_sheet_without_the_buttons(self, client, till):
        client.force_login(till.shop.world.auditor)
        html = client.get(urls(till)["sheet"]).content.decode()
        assert 'id="takings-cash">290.00<' in html
        assert 'id="record-handover"' not in html and 'id="sign-off-form"' not in html

    def test_it_offers_no_sign_off_before_the_period_is_over(self, client, till):
        client.force_login(till.shop.world.finance)
        html = client.get(urls(till, "2026-06-11")["sheet"]).content.decode()
        assert 'id="not-over"' in html and 'id="sign-off-form"' not in html and 'id="record-handover"' in html

    def test_it_exports_to_excel_and_pdf(self, client, till):
        client.force_login(till.shop.world.finance)
        xlsx = client.get(urls(till)["sheet"], {"export": "xlsx"})
        assert xlsx.status_code == 200 and "reconciliation-a1-2026-06-01" in xlsx["Content-Disposition"]
        ws = load_workbook(io.BytesIO(xlsx.content)).active
        cells = {ws.cell(row=r, column=1).value: r for r in range(1, ws.max_row + 1)}
        takings = cells["Takings to hand over"]
        assert ws.cell(row=takings, column=2).value == 290 and ws.cell(row=takings, column=6).value == 310
        assert ws.cell(row=takings, column=2).number_format == "#,##0.00"
        assert "Site: Site a1" in ws.cell(row=2, column=1).value
        pdf = client.get(urls(till)["sheet"], {"export": "pdf"})
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert client.get(urls(till)["sheet"], {"export": "docx"}).status_code == 404

    def test_it_writes_a_formula_like_name_as_text(self, client, till):
        client.force_login(till.shop.world.finance)
        client.post(
            urls(till)["handover"], HANDOVER | {"handed_over_by": "=HYPERLINK(1)", "reference": "@SUM(1)"}
        )
        ws = load_workbook(io.BytesIO(client.get(urls(till)["sheet"], {"export": "xlsx"}).content)).active
        found = [c for row in ws.iter_rows() for c in row if c.value in ("=HYPERLINK(1)", "@SUM(1)")]
        assert len(found) == 2 and all(c.data_type == "s" and c.quotePrefix for c in found)

    def test_it_speaks_chinese(self, client, till):
        client.force_login(till.shop.world.finance)
        html = client.get(urls(till)["sheet"], HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert "对帐单" in html and "Takings to hand over" not in html and "Record a handover" not in html

    @pytest.mark.parametrize("start", ["2026-06-02", "2026-13-01", "today"])
    def test_it_answers_404_for_a_day_that_starts_no_period(self, client, till, start):
        client.force_login(till.shop.world.finance)
        assert client.get(urls(till, start)["sheet"]).status_code == 404

    def test_it_answers_404_to_an_outsider_and_403_to_a_cashier(self, client, till):
        w = till.shop.world
        client.force_login(f.user(memberships=[(w.b1.group, None, "finance")]))
        for url in urls(till).values():
            assert client.get(url).status_code in (404, 405)
        assert client.post(urls(till)["handover"], HANDOVER).status_code == 404
        client.force_login(f.user(memberships=[(w.a1.group, w.a2.site, "auditor")]))
        assert client.get(urls(till)["sheet"]).status_code == 404
        client.force_login(w.cashier)
        assert client.get(urls(till)["sheet"]).status_code == 403


class HandoverViewTestCase:
    def test_it_records_a_handover_and_goes_back_to_the_sheet(self, client, till):
        client.force_login(till.shop.world.finance)
        assert client.get(urls(till)["handover"]).status_code == 200
        page = client.post(urls(till)["handover"], HANDOVER)
        assert page.status_code == 302 and page["Location"] == urls(till)["sheet"]
        h = Handover.objects.get()
        assert (h.amount, h.reference, h.recorded_by) == (Decimal("290.00"), "BOC-1", till.shop.world.finance)
        html = client.get(urls(till)["sheet"]).content.decode()
        assert 'id="difference-cash">0.00<' in html and "BOC-1" in html

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"amount": "abc"}, "plain number"),
            ({"deposited_on": "2026-06-30"}, "The deposit date is in the future."),
            ({"reference": ""}, "This field is required."),
        ],
    )
    def test_it_shows_a_refusal_and_records_nothing(self, client, till, change, message):
        client.force_login(till.shop.world.finance)
        page = client.post(urls(till)["handover"], HANDOVER | change)
        assert page.status_code == 400 and message in page.content.decode()
        assert Handover.objects.count() == 0

    @pytest.mark.parametrize("role", ["auditor"])
    def test_it_refuses_a_reader(self, client, till, role):
        client.force_login(getattr(till.shop.world, role))
        assert client.get(urls(till)["handover"]).status_code == 403
        assert client.post(urls(till)["handover"], HANDOVER).status_code == 403
        assert Handover.objects.count() == 0

    @pytest.mark.parametrize("role", ["cashier", "clerk"])
    def test_it_refuses_cashiers_and_clerks(self, client, till, role):
        client.force_login(getattr(till.shop.world, role))
        assert client.post(urls(till)["handover"], HANDOVER).status_code == 403
        assert Handover.objects.count() == 0


class SignOffViewTestCase:
    def test_it_signs_off_and_locks_the_period(self, client, till):
        client.force_login(till.shop.world.admin)
        page = client.post(urls(till)["sign_off"], {"note": "cash deposited on the 11th"})
        assert page.status_code == 302
        s = SignOff.objects.get()
        assert s.signed_by == till.shop.world.admin
        html = client.get(urls(till)["sheet"]).content.decode()
        assert (
            'id="signed-off"' in html
            and 'id="sign-off-form"' not in html
            and 'id="record-handover"' not in html
        )
        refused = client.post(urls(till)["handover"], HANDOVER)
        assert refused.status_code == 400 and "takes no more handovers" in refused.content.decode()

    def test_it_shows_why_it_refuses(self, client, till):
        client.force_login(till.shop.world.finance)
        page = client.post(urls(till)["sign_off"], {"note": ""})
        assert page.status_code == 400 and "say why in the note" in page.content.decode()
        assert SignOff.objects.count() == 0
        assert client.get(urls(till)["sign_off"]).status_code == 405

    @pytest.mark.parametrize("role", ["auditor", "cashier", "clerk"])
    def test_it_refuses_other_roles(self, client, till, role):
        client.force_login(getattr(till.shop.world, role))
        assert client.post(urls(till)["sign_off"], {"note": "x"}).status_code == 403
        assert SignOff.objects.count() == 0

    def test_it_answers_404_to_an_outsider(self, client, till):
        client.force_login(f.user(memberships=[(till.shop.world.b1.group, None, "admin")]))
        assert client.post(urls(till)["sign_off"], {"note": "x"}).status_code == 404
        assert SignOff.objects.count() == 0
