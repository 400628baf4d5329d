"""The suspicious-case list: scoped, filtered, sorted, paged, exported to Excel."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from tests.analytics.conftest import case

URL = reverse("analytics:cases")


def numbers(page):
    return [row.record.account.number for row in page.context["table"].page.object_list]


class CasesViewTestCase:
    def test_it_lists_the_open_cases_of_the_users_sites_highest_first(self, client, cases):
        client.force_login(cases.world.clerk)
        page = client.get(URL)
        assert page.status_code == 200
        assert numbers(page) == [cases.bypass.account.number, cases.low.account.number]
        html = page.content.decode()
        assert "used 10.2 kWh in 24 readings while the relay was open" in html

    def test_it_shows_finance_every_site_of_the_group(self, client, cases):
        client.force_login(cases.world.finance)
        assert set(numbers(client.get(URL))) == {
            c.account.number for c in (cases.bypass, cases.low, cases.a2)
        }

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"signal": "low_own"}, ["low"]),
            ({"min_score": "70"}, ["bypass"]),
            ({"status": "checked"}, ["checked"]),
            ({"status": ""}, ["bypass", "low", "checked"]),
        ],
    )
    def test_it_filters(self, client, cases, params, expected):
        client.force_login(cases.world.clerk)
        page = client.get(URL, params)
        assert numbers(page) == [getattr(cases, n).account.number for n in expected]

    def test_it_finds_an_account_by_number(self, client, cases):
        client.force_login(cases.world.clerk)
        assert numbers(client.get(URL, {"q": cases.low.account.number})) == [cases.low.account.number]

    def test_it_sorts_and_pages_without_failing(self, client, cases):
        client.force_login(cases.world.clerk)
        page = client.get(URL, {"sort": "score", "page": "99"})
        assert page.status_code == 200 and numbers(page) == [
            cases.low.account.number,
            cases.bypass.account.number,
        ]

    @pytest.mark.parametrize(
        "params", [{"min_score": "101"}, {"min_score": "x"}, {"date_from": "2026-13-01"}]
    )
    def test_it_refuses_bad_filters(self, client, cases, params):
        client.force_login(cases.world.clerk)
        page = client.get(URL, params)
        assert page.status_code == 400 and "table" not in page.context
        assert client.get(URL, {**params, "export": "xlsx"}).status_code == 400

    def test_it_treats_another_groups_site_as_no_choice(self, client, cases):
        client.force_login(cases.world.clerk)
        page = client.get(URL, {"site": cases.world.b1.site.pk})
        assert page.status_code == 400 and "Select a valid choice" in page.content.decode()

    def test_it_exports_the_filtered_list_with_every_reason(self, client, cases):
        cust = cases.bypass.account.customer
        cust.name = "=HYPERLINK(1)"
        cust.save()
        case(cases.world.a1, score=70, unit=cases.world.a1.units[3])
        client.force_login(cases.world.clerk)
        response = client.get(URL, {"export": "xlsx", "min_score": "75"})
        assert response.status_code == 200
        ws = load_workbook(io.BytesIO(response.content)).active
        assert ws["A4"].value == "Account" and ws["A5"].value == cases.bypass.account.number
        assert ws["B5"].value == "=HYPERLINK(1)" and ws["B5"].data_type == "s" and ws["E5"].value == 80
        assert "while the relay was open" in ws["L5"].value and ws["A6"].value is None

    def test_it_refuses_a_cashier(self, client, cases):
        client.force_login(cases.world.cashier)
        assert client.get(URL).status_code == 403

    def test_it_sends_anonymous_users_to_login(self, client):
        assert client.get(URL).status_code == 302


class MenuTestCase:
    def test_it_shows_the_analysis_in_the_menu_to_clerks_and_finance_not_cashiers(self, client, world):
        for user, shown in ((world.clerk, True), (world.finance, True), (world.cashier, False)):
            client.force_login(user)
            assert ('id="nav-analytics"' in client.get(reverse("home")).content.decode()) is shown
