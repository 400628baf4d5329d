"""The sales detail report (售电明细表): period, filters, scoping, totals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from prepay.domain.reporting import ten_day_period
from prepay.reports.queries import local_today

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
