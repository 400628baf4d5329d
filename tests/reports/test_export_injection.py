"""No name a person typed reaches a report's Excel export as a formula, and amounts stay numbers.

Customers, phones, vending points, operators, sites, customer types, meters and public meter groups
are named with the OWASP formula prefixes; each report is exported and read back with openpyxl.
"""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from openpyxl import load_workbook

from prepay.billing.models import PublicMeterGroup
from prepay.customers.models import Customer, CustomerType
from prepay.meters.models import Meter
from prepay.reports.definitions import REPORTS
from prepay.reports.exports import HEADER_ROW
from prepay.tenancy.models import Site
from prepay.vending.models import VendingPoint
from tests.reports import builders as b
from tests.reports.conftest import MARCH

PAYLOADS = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]
SLUGS = list(REPORTS)
PERIODS = {
    "line-loss": {k: MARCH[k] for k in ("date_from", "date_to")},
    "apportionment": {"month": MARCH["month"]},
}
#: the column that carries the poisoned name in each report, and a numeric column that must stay numbers
CHECKED = {
    "sales": ("Customer", "Amount paid"),
    "allocation": ("Site", "Money collected"),
    "recovery": ("Site", "Money collected"),
    "arrears": ("Customer", "Balance"),
    "reversals": ("Customer", "Amount"),
    "line-loss": ("Master meter", "Line loss (kWh)"),
    "apportionment": ("Public meter group", "Amount"),
}


def poison(statements, value: str) -> None:
    """Give everything at A1 a person can name the name ``value`` (test setup: direct updates)."""
    s = statements.sales
    w = s.world
    typo = b.sale(s.acc1, s.p1, "30.00", by=w.cashier)  # for the reversals and refunds report
    b.reversal(typo, by=w.cashier, decided_by=w.finance)
    Customer.objects.filter(pk__in=[s.acc1.customer_id, s.debtor.customer_id]).update(name=value, phone=value)
    VendingPoint.objects.filter(pk=s.p1.pk).update(name=value)
    get_user_model().objects.filter(pk=w.cashier.pk).update(last_name=value)
    Site.objects.filter(pk=w.a1.site.pk).update(name=value)
    CustomerType.objects.filter(pk=w.a1.ctype.pk).update(name=value)
    Meter.objects.filter(pk=statements.masters["a1"].pk).update(serial=value)
    PublicMeterGroup.objects.filter(pk=statements.groups["a1"].pk).update(name=value)


def export(client, slug: str, **extra):
    page = client.get(
        reverse("reports:report", args=[slug]), {**PERIODS.get(slug, {}), "export": "xlsx", **extra}
    )
    assert page.status_code == 200, page.content[:300]
    ws = load_workbook(io.BytesIO(page.content)).active
    assert ws is not None
    return ws


def column(ws, header: str) -> list:
    headers = [ws.cell(row=HEADER_ROW, column=c).value for c in range(1, ws.max_column + 1)]
    c = headers.index(header) + 1
    return [ws.cell(row=r, column=c) for r in range(HEADER_ROW + 1, ws.max_row + 1)]


def assert_no_formulas(ws) -> None:
    """No cell is a formula; every text cell a spreadsheet would evaluate carries the quote prefix."""
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
            if isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@", "\t", "\r", "\n")):
                assert cell.data_type == "s" and cell.quotePrefix, (cell.coordinate, cell.value)


class ExportInjectionTestCase:
    @pytest.mark.parametrize("slug", SLUGS)
    @pytest.mark.parametrize("value", PAYLOADS)
    def test_it_writes_a_formula_like_name_as_text(self, client, statements, slug, value):
        poison(statements, value)
        client.force_login(statements.sales.world.finance)
        ws = export(client, slug)
        assert_no_formulas(ws)
        text_column, number_column = CHECKED[slug]
        # exactly as typed: a carriage return is written as a character reference, which XML keeps
        assert value in [c.value for c in column(ws, text_column)]
        numbers = [c for c in column(ws, number_column) if c.value is not None]
        assert numbers and all(c.data_type == "n" and not c.quotePrefix for c in numbers)

    def test_it_keeps_negative_amounts_numbers(self, client, statements):
        poison(statements, "-2+3")
        client.force_login(statements.sales.world.finance)
        balances = column(export(client, "arrears"), "Balance")
        assert [(c.value, c.data_type, c.quotePrefix) for c in balances] == [
            (-20, "n", False),
            (-9, "n", False),
            (-29, "n", False),  # the totals row
        ]
        assert all(c.number_format == "#,##0.00" for c in balances)

    def test_it_exports_names_that_look_like_mathtext_to_pdf(self, client, statements):
        poison(statements, r"$\frac{$")
        client.force_login(statements.sales.world.finance)
        for slug in SLUGS:
            page = client.get(
                reverse("reports:report", args=[slug]), {**PERIODS.get(slug, {}), "export": "pdf"}
            )
            assert page.status_code == 200 and page.content.startswith(b"%PDF"), slug

    def test_it_exports_names_with_control_characters(self, client, statements):
        poison(statements, "Li\x0bSi")
        client.force_login(statements.sales.world.finance)
        assert "LiSi" in [c.value for c in column(export(client, "sales"), "Customer")]

    def test_it_refuses_a_cashier(self, client, statements):
        client.force_login(statements.sales.world.cashier)
        assert client.get(reverse("reports:report", args=["sales"]), {"export": "xlsx"}).status_code == 403

    def test_it_never_shows_an_outsider_the_names(self, client, statements):
        poison(statements, "=1+1")
        client.force_login(statements.sales.finance_b)
        for slug in SLUGS:
            ws = export(client, slug)
            values = {c.value for row in ws.iter_rows() for c in row}
            assert "=1+1" not in values, slug
