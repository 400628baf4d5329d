"""The sales detail report (售电明细表): period, filters, scoping, totals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from prepay.domain.reporting import ten_day_period
from prepay.reports.queries import local_today
from tests.reports import builders as b

URL = reverse("reports:report", args=["sales"])


def receipts(response) -> set[str]:
    return {r["receipt"] for r in response.context["data"].rows}


class SalesDetailTestCase:
    def test_it_lists_the_current_ten_day_period_of_the_whole_group_for_finance(self, client, sales):
        client.force_login(sales.world.finance)
        page = client.get(URL)
        assert page.status_code == 200
        data = page.context["data"]
        assert {r["site"] for r in data.rows} == {"Site a1", "Site a2"}
        assert sales.old.receipt_no not in receipts(page)  # previous ten-day period
        assert data.totals["amount"] == Decimal("170.75")
        period = ten_day_period(local_today())
        assert page.context["filter"].form.cleaned_data["date_from"] == period.start
        assert page.context["filter"].form.cleaned_data["date_to"] == period.end

    def test_it_shows_any_period_asked_for(self, client, sales):
        client.force_login(sales.world.finance)
        day = timezone.localdate(sales.old.created_at).isoformat()
        page = client.get(URL, {"date_from": day, "date_to": day})
        assert receipts(page) == {sales.old.receipt_no}

    @pytest.mark.parametrize(
        ("param", "attr", "expected"),
        [("site", "a2", {"C2"}), ("point", "p1", {"C1"}), ("method", None, {"C1"})],
    )
    def test_it_filters(self, client, sales, param, attr, expected):
        client.force_login(sales.world.finance)
        if param == "site":
            value = getattr(sales.world, attr).site.pk
        elif param == "point":
            value = getattr(sales, attr).pk
        else:
            value = "card"
        page = client.get(URL, {param: value})
        assert page.status_code == 200
        assert {r.split("-")[0] for r in receipts(page)} == expected

    def test_it_filters_by_operator(self, client, sales):
        client.force_login(sales.world.finance)
        page = client.get(URL, {"operator": sales.world.cashier.pk})
        assert len(page.context["data"].rows) == 3

    def test_it_sorts_by_a_column(self, client, sales):
        client.force_login(sales.world.finance)
        page = client.get(URL, {"sort": "-amount"})
        amounts = [row.record["amount"] for row in page.context["table"].rows]
        assert amounts == sorted(amounts, reverse=True)

    def test_it_shows_site_staff_only_their_site(self, client, sales):
        client.force_login(sales.world.auditor)  # auditor at A1 holds reports.view there only
        page = client.get(URL)
        assert page.status_code == 200
        assert {r["site"] for r in page.context["data"].rows} == {"Site a1"}

    @pytest.mark.parametrize("role", ["cashier", "clerk"])
    def test_it_refuses_roles_without_reports_view(self, client, sales, role):
        client.force_login(getattr(sales.world, role))
        assert client.get(URL).status_code == 403
        assert client.get(URL, {"export": "xlsx"}).status_code == 403

    def test_it_sends_anonymous_users_to_login(self, client, sales):
        page = client.get(URL)
        assert page.status_code == 302 and "/login/" in page["Location"]

    def test_it_shows_an_outsider_nothing_of_another_group(self, client, sales):
        client.force_login(sales.finance_b)
        page = client.get(URL)
        assert {r["site"] for r in page.context["data"].rows} == {"Site b1"}
        # naming a site of group A is not a valid choice: no rows, and exports are refused
        refused = client.get(URL, {"site": sales.world.a1.site.pk})
        assert refused.status_code == 400 and "data" not in refused.context
        assert client.get(URL, {"site": sales.world.a1.site.pk, "export": "pdf"}).status_code == 400

    def test_it_refuses_a_range_without_dates_that_parse(self, client, sales):
        client.force_login(sales.world.finance)
        assert client.get(URL, {"date_from": "yesterday"}).status_code == 400

    def test_it_refuses_an_unknown_export_format(self, client, sales):
        client.force_login(sales.world.finance)
        assert client.get(URL, {"export": "docx"}).status_code == 404


class SalesDetailReversalsTestCase:
    """A reversal approved in the period is a negative row; the totals are net, as everywhere else."""

    def test_it_lists_a_reversal_as_a_negative_row_and_totals_net(self, client, sales):
        typo = b.sale(sales.acc1, sales.p1, "1000.00", by=sales.world.cashier)
        r = b.reversal(typo, by=sales.world.cashier, decided_by=sales.world.finance)
        client.force_login(sales.world.finance)
        data = client.get(URL).context["data"]
        back = [row for row in data.rows if row["pk"] == -r.pk]
        assert len(back) == 1 and back[0]["amount"] == Decimal("-1000.00")
        assert (
            back[0]["energy"] == Decimal("-2000.000") and back[0]["status"] == f"Reverses {typo.receipt_no}"
        )
        assert back[0]["entry"] == "Void: paid back at the counter"
        assert data.totals["amount"] == Decimal("170.75")  # the typo and its void cancel out
        assert data.totals["receipt"] == "Sales: 4 · reversals: 1"

    def test_it_shows_a_refund_by_finance_in_the_period_it_was_approved(self, client, sales):
        r = b.reversal(sales.old, by=sales.world.cashier, decided_by=sales.world.finance, void=False)
        client.force_login(sales.world.finance)
        data = client.get(URL).context["data"]
        assert sales.old.receipt_no not in {row["receipt"] for row in data.rows if row["pk"] > 0}
        back = [row for row in data.rows if row["pk"] == -r.pk]
        assert back[0]["entry"] == "Refund paid by finance" and back[0]["amount"] == Decimal("-7.00")
        assert data.totals["amount"] == Decimal("163.75")
        day = timezone.localdate(sales.old.created_at).isoformat()
        earlier = client.get(URL, {"date_from": day, "date_to": day}).context["data"]
        assert earlier.totals["amount"] == Decimal("7.00")  # its own period is never rewritten

    def test_it_applies_the_filters_to_reversals_through_their_sale(self, client, sales):
        typo = b.sale(sales.acc2, sales.p2, "300.00", by=sales.world.cashier)
        b.reversal(typo, by=sales.world.cashier, decided_by=sales.world.finance)
        client.force_login(sales.world.finance)
        a1 = client.get(URL, {"site": sales.world.a1.site.pk}).context["data"]
        assert all(row["pk"] > 0 for row in a1.rows)
        a2 = client.get(URL, {"site": sales.world.a2.site.pk}).context["data"]
        assert a2.totals["amount"] == Decimal("20.25") and len(a2.rows) == 3

    def test_it_lists_only_sales_when_a_status_is_chosen(self, client, sales):
        typo = b.sale(sales.acc2, sales.p2, "300.00", by=sales.world.cashier)
        b.reversal(typo, by=sales.world.cashier, decided_by=sales.world.finance)
        client.force_login(sales.world.finance)
        data = client.get(URL, {"status": "reversed"}).context["data"]
        assert [row["receipt"] for row in data.rows] == [typo.receipt_no]
        assert data.totals["amount"] == Decimal("300.00")

    def test_it_keeps_an_outsiders_reversals_out(self, client, sales):
        theirs = b.sale(sales.accb, sales.pb, "50.00")
        b.reversal(theirs, by=sales.finance_b, decided_by=sales.finance_b)
        client.force_login(sales.world.finance)
        data = client.get(URL).context["data"]
        assert all(row["site"] != "Site b1" for row in data.rows)
