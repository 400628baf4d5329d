"""The sales detail counts, sorts and pages in the database (issue 17): a page costs the same queries
however many sales the period holds, every sort gives the same rows as sorting them all, and a
download streams the rows in the order of the screen."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from prepay.domain.reporting import ten_day_period
from prepay.reports.queries import local_today
from prepay.reports.sales import reversals_in, vends_in
from prepay.reports.sales_pages import SORTS, SalesRows
from tests.reports import builders as b

URL = reverse("reports:report", args=["sales"])


def _more_sales(sales, n: int) -> None:
    at = timezone.localtime() - timedelta(minutes=30)
    for i in range(n):
        b.sale(sales.acc1, sales.p1, f"{i + 1}.{i % 100:02d}", by=sales.world.cashier, at=at)


def _statements(client, params: dict[str, str]) -> int:
    return b.statements(client, URL, params)


def _all_rows(client, **params: str) -> list[dict]:
    return list(client.get(URL, params).context["data"].rows)


class SalesPagesTestCase:
    def test_a_page_costs_the_same_queries_for_5_or_60_sales(self, client, sales):
        client.force_login(sales.world.finance)
        params = {"per_page": "3", "page": "2"}
        few = _statements(client, params)
        sorted_few = _statements(client, {**params, "sort": "-customer"})
        assert few > 5 and sorted_few > 5  # sign-in, scope, counts, totals, the page and its rows
        _more_sales(sales, 55)
        assert _statements(client, params) == few
        assert _statements(client, {**params, "sort": "-customer"}) == sorted_few

    def test_a_page_is_the_slice_of_all_rows_in_time_order_with_reversals_among_them(self, client, sales):
        _more_sales(sales, 7)
        typo = b.sale(sales.acc2, sales.p2, "300.00", by=sales.world.cashier)
        back = b.reversal(typo, by=sales.world.cashier, decided_by=sales.world.finance)
        client.force_login(sales.world.finance)
        everything = _all_rows(client)
        assert [r["pk"] for r in everything].count(-back.pk) == 1
        times = [r["time"] for r in everything]
        assert times == sorted(times)
        shown = []
        for page in (1, 2, 3, 4):
            table = client.get(URL, {"per_page": "3", "page": str(page)}).context["table"]
            shown += [row.record["pk"] for row in table.page.object_list]
        assert shown == [r["pk"] for r in everything]  # 12 rows: every one once, in order

    @pytest.mark.parametrize("column", sorted(SORTS))
    def test_every_sort_gives_the_rows_sorted_across_pages(self, client, sales, column):
        _more_sales(sales, 6)
        typo = b.sale(sales.acc2, sales.p2, "300.00", by=sales.world.cashier, method="card")
        b.reversal(typo, by=sales.world.cashier, decided_by=sales.world.finance)
        client.force_login(sales.world.finance)
        expected = {r["pk"] for r in _all_rows(client)}
        for order in (column, f"-{column}"):
            shown = []
            for page in (1, 2, 3):
                params = {"per_page": "5", "page": str(page), "sort": order}
                table = client.get(URL, params).context["table"]
                shown += [row.record for row in table.page.object_list]
            assert {r["pk"] for r in shown} == expected and len(shown) == len(expected)
            if column in ("amount", "arrears", "credit", "energy", "time"):  # text sorts by collation
                values = [r[column] for r in shown]
                assert values == sorted(values, reverse=order.startswith("-")), order

    def test_a_page_past_the_end_is_the_last_and_the_count_is_the_rows(self, client, sales):
        client.force_login(sales.world.finance)
        page = client.get(URL, {"per_page": "2", "page": "99"})
        table = page.context["table"]
        assert table.paginator.count == 3 and table.page.number == 2
        assert [r.record["amount"] for r in table.page.object_list] == [Decimal("20.25")]

    def test_the_totals_are_aggregates_that_match_the_rows(self, client, sales):
        _more_sales(sales, 12)
        typo = b.sale(sales.acc1, sales.p1, "80.00", by=sales.world.cashier, method="card")
        b.reversal(typo, by=sales.world.cashier, decided_by=sales.world.finance)
        client.force_login(sales.world.finance)
        data = client.get(URL, {"per_page": "2"}).context["data"]
        rows = list(data.rows)
        for key in ("amount", "arrears", "credit", "energy"):
            assert data.totals[key] == sum((r[key] for r in rows), Decimal(0)), key
        chart = dict(zip(data.chart.categories, data.chart.series[0][1], strict=True))
        assert sum(chart.values(), Decimal(0)) == data.totals["amount"]
        assert chart["Bank card"] == Decimal("50.50")  # the card sale of 80.00 and its void cancel

    def test_a_download_lists_every_row_in_the_screen_order(self, client, sales, settings):
        _more_sales(sales, 5)
        typo = b.sale(sales.acc1, sales.p1, "80.00", by=sales.world.cashier)
        b.reversal(typo, by=sales.world.cashier, decided_by=sales.world.finance)
        period = ten_day_period(local_today())
        user = sales.world.finance
        rows = SalesRows(vends_in(user, period), reversals_in(user, period))
        streamed = [r["pk"] for r in rows]
        assert streamed == [r["pk"] for r in rows[0 : len(rows)]]
        assert len(streamed) == len(rows) == 3 + 5 + 1 + 1
        assert rows[-1]["pk"] == streamed[-1] and rows[0]["pk"] == streamed[0]
        with pytest.raises(IndexError):
            rows[len(rows)]


@pytest.mark.django_db
class SalesPeriodFilterTestCase:
    def test_the_period_is_a_range_on_the_sale_time_not_a_date_of_every_row(self, client, sales):
        client.force_login(sales.world.finance)
        day = timezone.localdate(sales.old.created_at).isoformat()
        fs = client.get(URL, {"date_from": day, "date_to": day}).context["filter"]
        sql = str(fs.qs.query).lower()
        assert 'created_at" >=' in sql and 'created_at" <' in sql, sql
        assert "django_datetime_cast_date" not in sql and "::date" not in sql, sql

    def test_a_sale_in_the_last_second_of_the_last_day_counts_and_one_after_midnight_does_not(
        self, client, sales
    ):
        day = timezone.localdate(sales.old.created_at)
        tz = timezone.get_current_timezone()
        last = b.sale(sales.acc1, sales.p1, "1.00")
        after = b.sale(sales.acc1, sales.p1, "2.00")
        last.created_at = datetime.combine(day, time(23, 59, 59, 999999), tz)
        after.created_at = datetime.combine(day + timedelta(days=1), time(0), tz)
        for v in (last, after):
            v.save(update_fields=["created_at"])
        client.force_login(sales.world.finance)
        rows = (
            client.get(URL, {"date_from": day.isoformat(), "date_to": day.isoformat()}).context["data"].rows
        )
        pks = {r["pk"] for r in rows}
        assert last.pk in pks and after.pk not in pks


class OperatorChoicesTestCase:
    """The operator chooser reads the sales of the period asked for, never every sale."""

    def _choices(self, page) -> set[str]:
        return {str(u) for u in page.context["filter"].form.fields["operator"].queryset}

    def test_it_offers_the_operators_of_the_period(self, client, sales):
        from tests import factories as f

        late = f.user("late_cashier", memberships=[(sales.world.a1.group, None, "cashier")])
        old_sale = b.sale(sales.acc1, sales.p1, "3.00", by=late)
        old_sale.created_at = sales.old.created_at
        old_sale.save(update_fields=["created_at"])
        client.force_login(sales.world.finance)
        now = self._choices(client.get(URL))
        assert sales.world.cashier.username in now and "late_cashier" not in now
        day = timezone.localdate(sales.old.created_at).isoformat()
        then = self._choices(client.get(URL, {"date_from": day, "date_to": day}))
        assert "late_cashier" in then
        # chosen for a period they did not sell in: accepted, and nothing is listed
        page = client.get(URL, {"operator": late.pk})
        assert page.status_code == 200 and list(page.context["data"].rows) == []

    def test_it_refuses_an_operator_who_sold_only_elsewhere(self, client, sales):
        from tests import factories as f

        outsider = f.user("cashier_b", memberships=[(sales.world.b1.group, None, "cashier")])
        b.sale(sales.accb, sales.pb, "5.00", by=outsider)
        client.force_login(sales.world.finance)
        assert "cashier_b" not in self._choices(client.get(URL))
        assert client.get(URL, {"operator": outsider.pk}).status_code == 400
        assert client.get(URL, {"operator": "99999999999"}).status_code == 400
