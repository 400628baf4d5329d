"""``?site=`` on every report, on screen and in every export: a site the user may see filters to it; any
other value (another group's site, a site that does not exist, text, a number too big for the
database) is the same form error — status 400, no rows, and nothing of another site."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from prepay.reports.definitions import REPORTS
from prepay.reports.exports import HEADER_ROW
from prepay.tenancy.choices import Role
from tests import factories as f
from tests.reports.conftest import MARCH

SLUGS = list(REPORTS)
FORMATS = ["", "xlsx", "pdf"]
INVALID = "Select a valid choice. That choice is not one of the available choices."
#: the period of each report in which the ``statements`` fixture gives every site rows
PERIODS = {
    "sales": {},
    "reversals": {},
    "allocation": {},
    "recovery": {},
    "arrears": {},
    "line-loss": {k: MARCH[k] for k in ("date_from", "date_to")},
    "apportionment": {"month": MARCH["month"]},
}


def get(client, slug: str, site, export: str = ""):
    params = {**PERIODS[slug], "site": site}
    if export:
        params["export"] = export
    return client.get(reverse("reports:report", args=[slug]), params)


def sheet_sites(response) -> list[str]:
    """The Site column of an exported sheet's data rows (the totals row left out)."""
    ws = load_workbook(io.BytesIO(response.content)).active
    header = [ws.cell(row=HEADER_ROW, column=c).value for c in range(1, ws.max_column + 1)]
    column = header.index("Site") + 1
    return [
        ws.cell(row=r, column=column).value
        for r in range(HEADER_ROW + 1, ws.max_row + 1)
        if ws.cell(row=r, column=1).value != "Total"
    ]


def pdf_text(response, tmp_path) -> str | None:
    if shutil.which("pdftotext") is None:
        return None
    path = tmp_path / "r.pdf"
    path.write_bytes(response.content)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


class SiteFilterTestCase:
    @pytest.mark.parametrize("slug", SLUGS)
    def test_it_shows_only_the_chosen_site_on_screen(self, client, statements, slug):
        client.force_login(statements.sales.world.finance)
        page = get(client, slug, statements.sales.world.a2.site.pk)
        assert page.status_code == 200
        rows = page.context["data"].rows
        assert rows and {r["site"] for r in rows} == {"Site a2"}
        assert "Site b1" not in page.content.decode()

    @pytest.mark.parametrize("slug", SLUGS)
    def test_it_exports_only_the_chosen_site_to_excel(self, client, statements, slug):
        client.force_login(statements.sales.world.finance)
        page = get(client, slug, statements.sales.world.a2.site.pk, "xlsx")
        assert page.status_code == 200
        assert set(sheet_sites(page)) == {"Site a2"}

    @pytest.mark.parametrize("slug", SLUGS)
    def test_it_exports_only_the_chosen_site_to_pdf(self, client, statements, slug, tmp_path):
        client.force_login(statements.sales.world.finance)
        page = get(client, slug, statements.sales.world.a2.site.pk, "pdf")
        assert page.status_code == 200 and page.content.startswith(b"%PDF")
        text = pdf_text(page, tmp_path)
        if text is not None:
            assert "Site a2" in text and "Site a1" not in text and "Site b1" not in text

    @pytest.mark.parametrize("slug", SLUGS)
    @pytest.mark.parametrize("export", FORMATS)
    def test_it_refuses_another_groups_site_like_one_that_does_not_exist(
        self, client, statements, slug, export
    ):
        client.force_login(statements.sales.world.finance)
        other = get(client, slug, statements.sales.world.b1.site.pk, export)
        missing = get(client, slug, 2_000_000_000, export)
        assert other.status_code == missing.status_code == 400
        body = other.content.decode()
        assert INVALID in body and "Site b1" not in body and "Lifts b1" not in body
        if export:
            assert other["Content-Type"].startswith("text/plain")
            assert body == missing.content.decode() == f"Invalid filters.\nSite: {INVALID}\n"
        else:
            assert "data" not in other.context

    @pytest.mark.parametrize("slug", SLUGS)
    @pytest.mark.parametrize("export", FORMATS)
    @pytest.mark.parametrize("value", ["abc", "99999999999999999999", "-1", "1.5", "", " "])
    def test_it_refuses_a_site_that_is_not_an_id(self, client, statements, slug, export, value):
        client.force_login(statements.sales.world.finance)
        page = get(client, slug, value, export)
        if value:
            assert page.status_code == 400 and INVALID in page.content.decode()
        else:  # no site chosen: every site in scope
            assert page.status_code == 200

    @pytest.mark.parametrize("slug", SLUGS)
    @pytest.mark.parametrize("role", ["cashier", "clerk"])
    def test_it_refuses_a_role_without_reports_whatever_the_site(self, client, statements, slug, role):
        client.force_login(getattr(statements.sales.world, role))
        for export in FORMATS:
            assert get(client, slug, statements.sales.world.a1.site.pk, export).status_code == 403

    @pytest.mark.parametrize("slug", SLUGS)
    def test_it_refuses_site_staff_another_site_of_their_group(self, client, statements, slug):
        client.force_login(statements.sales.world.auditor)  # A1 only
        assert get(client, slug, statements.sales.world.a1.site.pk).status_code == 200
        page = get(client, slug, statements.sales.world.a2.site.pk, "xlsx")
        assert page.status_code == 400 and "Site a2" not in page.content.decode()

    @pytest.mark.parametrize("slug", SLUGS)
    def test_it_gives_an_outsider_nothing_of_another_group(self, client, statements, slug):
        client.force_login(statements.sales.finance_b)
        own = get(client, slug, statements.sales.world.b1.site.pk)
        assert own.status_code == 200 and {r["site"] for r in own.context["data"].rows} == {"Site b1"}
        for export in FORMATS:
            page = get(client, slug, statements.sales.world.a1.site.pk, export)
            assert page.status_code == 400
            assert "Site a1" not in page.content.decode() and "Site a2" not in page.content.decode()


class DashboardSiteParameterTestCase:
    """The dashboard has no site filter: ``?site=`` is ignored and never widens the user's scope."""

    @pytest.mark.parametrize("name", ["reports:dashboard", "reports:dashboard-data", "reports:live"])
    @pytest.mark.parametrize("value", ["other", "abc", "99999999999999999999"])
    def test_it_ignores_the_parameter(self, client, statements, name, value):
        w = statements.sales.world
        client.force_login(w.auditor)  # A1 only
        site = w.b1.site.pk if value == "other" else value
        page = client.get(reverse(name), {"site": site})
        assert page.status_code == 200
        body = page.content.decode()
        assert "Site b1" not in body and "Site a2" not in body and "Counter B1" not in body

    def test_it_refuses_a_cashier(self, client, statements):
        client.force_login(statements.sales.world.cashier)
        assert client.get(reverse("reports:dashboard"), {"site": "1"}).status_code == 403

    def test_it_shows_an_outsider_only_their_group(self, client, statements):
        w = statements.sales.world
        outsider = f.user("auditor_b1", memberships=[(w.b1.group, w.b1.site, Role.AUDITOR)])
        client.force_login(outsider)
        data = client.get(reverse("reports:dashboard-data"), {"site": w.a1.site.pk}).json()
        assert data["recovery"]["sites"] == ["Site b1"]
