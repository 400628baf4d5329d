"""Whatever a person types into a report's address — dates, months, pages, page sizes, sort orders,
export formats, NUL bytes — the answer is the report, a clear form error (400) or a sane default;
never a server error."""

from __future__ import annotations

import pytest
from django.urls import reverse

from prepay.reports.definitions import REPORTS
from prepay.reports.views import MAX_PER_PAGE, PER_PAGE

SLUGS = list(REPORTS)
RANGE_SLUGS = [s for s in SLUGS if "date_from" in REPORTS[s].filterset.base_filters]
MONTH_SLUGS = [s for s in SLUGS if "month" in REPORTS[s].filterset.base_filters]
FORMATS = ["", "xlsx", "pdf"]
OUT_OF_RANGE = "Enter a date between 1900-01-01 and 2999-12-31."
REVERSED = "The end date is before the start date."
BAD_DATE = "Enter a valid date."
BAD_MONTH = "Enter a month as YYYY-MM."


def get(client, slug: str, **params):
    return client.get(reverse("reports:report", args=[slug]), params)


def refused(page, message: str) -> bool:
    return page.status_code == 400 and message in page.content.decode()


class DateParametersTestCase:
    @pytest.mark.parametrize("slug", SLUGS)
    def test_it_ignores_names_it_does_not_know(self, client, sales, slug):
        client.force_login(sales.world.finance)
        page = get(client, slug, **{"from": "2026-13-45", "to": "x", "site_id": "abc"})
        assert page.status_code == 200 and "data" in page.context

    @pytest.mark.parametrize("slug", RANGE_SLUGS)
    @pytest.mark.parametrize("export", FORMATS)
    @pytest.mark.parametrize(
        ("params", "message"),
        [
            ({"date_from": "2026-13-45"}, BAD_DATE),
            ({"date_to": "2026-02-30"}, BAD_DATE),
            ({"date_from": "yesterday"}, BAD_DATE),
            ({"date_from": "9" * 5000}, BAD_DATE),
            ({"date_from": "0001-01-01"}, OUT_OF_RANGE),
            ({"date_to": "9999-12-31"}, OUT_OF_RANGE),
            ({"date_from": "2026-03-31", "date_to": "2026-03-01"}, REVERSED),
        ],
    )
    def test_it_refuses_a_range_it_cannot_use(self, client, sales, slug, export, params, message):
        client.force_login(sales.world.finance)
        page = get(client, slug, export=export, **params) if export else get(client, slug, **params)
        assert refused(page, message)
        if not export:
            assert "data" not in page.context

    @pytest.mark.parametrize("slug", RANGE_SLUGS)
    def test_it_accepts_the_widest_range(self, client, sales, slug):
        client.force_login(sales.world.finance)
        assert get(client, slug, date_from="1900-01-01", date_to="2999-12-31").status_code == 200

    @pytest.mark.parametrize("slug", MONTH_SLUGS)
    @pytest.mark.parametrize("export", FORMATS)
    @pytest.mark.parametrize(
        ("month", "message"),
        [
            ("2026-13", BAD_MONTH),
            ("2026-00", BAD_MONTH),
            ("0000-01", BAD_MONTH),
            ("99999-01", BAD_MONTH),
            ("2026-1-1", BAD_MONTH),
            ("1899-12", OUT_OF_RANGE),
            ("9999-12", OUT_OF_RANGE),
        ],
    )
    def test_it_refuses_a_month_it_cannot_use(self, client, sales, slug, export, month, message):
        client.force_login(sales.world.finance)
        page = get(client, slug, month=month, export=export) if export else get(client, slug, month=month)
        assert refused(page, message)

    @pytest.mark.parametrize("slug", SLUGS)
    @pytest.mark.parametrize("name", ["site", "point", "operator", "method", "status"])
    def test_it_refuses_a_choice_that_is_not_one(self, client, sales, slug, name):
        client.force_login(sales.world.finance)
        page = get(client, slug, **{name: "nonsense"})
        assert page.status_code in (200, 400)  # 200: the report has no such filter and ignores it
        if name in REPORTS[slug].filterset.base_filters:
            assert page.status_code == 400 and "Select a valid choice." in page.content.decode()

    def test_it_names_each_error_in_a_refused_export(self, client, sales):
        client.force_login(sales.world.finance)
        page = get(client, "sales", date_from="2026-13-45", method="nope", export="xlsx")
        assert page.status_code == 400 and page["Content-Type"].startswith("text/plain")
        lines = page.content.decode().splitlines()
        assert lines[0] == "Invalid filters."
        assert f"From: {BAD_DATE}" in lines and any(line.startswith("Payment method: ") for line in lines)

    def test_it_refuses_an_export_format_it_does_not_make(self, client, sales):
        client.force_login(sales.world.finance)
        for fmt in ("docx", "XLSX", "../../etc/passwd"):
            assert get(client, "sales", export=fmt).status_code == 404

    def test_it_speaks_chinese(self, client, sales):
        client.force_login(sales.world.finance)
        page = client.get(
            reverse("reports:report", args=["sales"]),
            {"date_from": "2026-03-31", "date_to": "2026-03-01"},
            HTTP_ACCEPT_LANGUAGE="zh-hans",
        )
        assert page.status_code == 400 and "结束日期早于开始日期。" in page.content.decode()

    def test_it_refuses_a_cashier_before_reading_anything(self, client, sales):
        client.force_login(sales.world.cashier)
        assert get(client, "sales", date_from="2026-13-45", page="-1").status_code == 403

    def test_it_tells_an_outsider_nothing_with_bad_dates(self, client, sales):
        client.force_login(sales.finance_b)
        page = get(client, "sales", date_from="2026-13-45", site=sales.world.a1.site.pk)
        assert page.status_code == 400 and "Site a1" not in page.content.decode()


class ControlCharactersTestCase:
    """A NUL or another control character in any parameter is refused (4xx) or ignored, never a 500."""

    NAMES = [
        "date_from",
        "date_to",
        "month",
        "site",
        "point",
        "operator",
        "method",
        "page",
        "per_page",
        "sort",
    ]

    @pytest.mark.parametrize("slug", SLUGS)
    @pytest.mark.parametrize("export", FORMATS)
    def test_it_never_fails_on_a_control_character(self, client, sales, slug, export):
        client.force_login(sales.world.finance)
        for name in self.NAMES:
            for value in ("\x00", "2026-03-01\x00", "\x1b[31m"):
                params = {name: value, **({"export": export} if export else {})}
                assert get(client, slug, **params).status_code < 500, (name, value)

    def test_it_never_fails_on_the_live_feed(self, client, sales):
        client.force_login(sales.world.finance)
        assert client.get(reverse("reports:live"), {"after": "\x00"}).status_code < 500

    def test_it_refuses_a_cashier(self, client, sales):
        client.force_login(sales.world.cashier)
        assert get(client, "sales", date_from="\x00").status_code in (400, 403)

    def test_it_tells_an_outsider_nothing(self, client, sales):
        client.force_login(sales.finance_b)
        page = get(client, "sales", site=f"{sales.world.a1.site.pk}\x00")
        assert page.status_code == 400 and "Site a1" not in page.content.decode()


class PagingAndSortingTestCase:
    @pytest.mark.parametrize("slug", SLUGS)
    @pytest.mark.parametrize(
        ("page_param", "expected"),
        [
            ("-1", 1),
            ("0", 1),
            ("abc", 1),
            ("1.5", 1),
            ("", 1),
            ("99999999999999999999", 1),
            ("9" * 5000, 1),
        ],
    )
    def test_it_shows_a_page_that_exists(self, client, sales, slug, page_param, expected):
        client.force_login(sales.world.finance)
        page = get(client, slug, page=page_param)
        assert page.status_code == 200
        assert page.context["table"].page.number == expected  # every report here fits on one page

    @pytest.mark.parametrize(
        ("per_page", "expected"),
        [("0", PER_PAGE), ("-5", PER_PAGE), ("abc", PER_PAGE), ("1", 1), ("10" + "0" * 30, MAX_PER_PAGE)],
    )
    def test_it_keeps_the_page_size_sane(self, client, sales, per_page, expected):
        client.force_login(sales.world.finance)
        page = get(client, "sales", per_page=per_page)
        assert page.status_code == 200
        assert page.context["table"].paginator.per_page == expected

    def test_it_shows_the_last_page_past_the_end(self, client, sales):
        client.force_login(sales.world.finance)
        page = get(client, "sales", per_page="1", page="99")
        assert page.status_code == 200 and page.context["table"].page.number == 3

    @pytest.mark.parametrize("slug", SLUGS)
    def test_it_sorts_by_every_column_both_ways(self, client, statements, slug):
        client.force_login(statements.sales.world.finance)
        params = {"date_from": "2026-03-01", "date_to": "2026-03-31"} if slug == "line-loss" else {}
        if slug == "apportionment":
            params = {"month": "2026-03"}
        data = get(client, slug, **params).context["data"]
        for col in data.columns:
            for order in (col.key, f"-{col.key}"):
                page = get(client, slug, sort=order, **params)
                assert page.status_code == 200, order
                assert len(page.context["table"].rows) == len(data.rows)

    @pytest.mark.parametrize("slug", SLUGS)
    @pytest.mark.parametrize("sort", ["nonsense", "-", "", ",", "--amount", "site__pk", "rate"])
    def test_it_ignores_an_order_it_cannot_sort_by(self, client, sales, slug, sort):
        client.force_login(sales.world.finance)
        assert get(client, slug, sort=sort).status_code == 200

    def test_it_refuses_a_clerk(self, client, sales):
        client.force_login(sales.world.clerk)
        assert get(client, "sales", sort="nonsense", per_page="0").status_code == 403

    def test_it_pages_an_outsider_through_their_own_rows(self, client, sales):
        client.force_login(sales.finance_b)
        page = get(client, "sales", page="-1", per_page="0", sort="-amount")
        assert {r["site"] for r in page.context["data"].rows} == {"Site b1"}


class DashboardParametersTestCase:
    @pytest.mark.parametrize("after", ["-1", "abc", "1e9", "99999999999999999999", "9" * 5000])
    def test_it_reads_any_after_as_a_sane_id(self, client, sales, after):
        client.force_login(sales.world.finance)
        page = client.get(reverse("reports:live"), {"after": after})
        assert page.status_code == 200
        vends = page.json()["vends"]
        expected = 0 if after == "99999999999999999999" else 4  # past every id; else from the start
        assert len(vends) == expected

    def test_it_refuses_a_cashier(self, client, sales):
        client.force_login(sales.world.cashier)
        assert client.get(reverse("reports:live"), {"after": "abc"}).status_code == 403

    def test_it_shows_an_outsider_only_their_group(self, client, sales):
        client.force_login(sales.finance_b)
        vends = client.get(reverse("reports:live"), {"after": "-1"}).json()["vends"]
        assert {v["site"] for v in vends} == {"Site b1"}
