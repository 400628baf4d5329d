"""Import templates built from the user's own data never carry a formula: a building named like one is
quote-prefixed text in Excel (reading back unchanged) and starts with ``'`` in CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from prepay.customers.models import Building
from prepay.imports.columns import COLUMNS
from prepay.imports.readers import read_table

PAYLOADS = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]
#: the kind, who may download its template in the ``world``, and the column that shows the building name
KINDS = [("units", "admin", "building_name"), ("customers", "clerk", "address")]


def client_for(user: Any) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(user)
    return c


def example(kind: str, data: bytes, fmt: str) -> dict[str, Any]:
    """The template's example row by column key, as a spreadsheet program would read it."""
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        return dict(zip([c.key for c in COLUMNS[kind]], rows[1], strict=True))
    ws = load_workbook(io.BytesIO(data)).active
    assert ws is not None
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
    return {c.key: ws.cell(row=2, column=i) for i, c in enumerate(COLUMNS[kind], start=1)}


@pytest.mark.urls("tests.imports.urls")
class TemplateInjectionTestCase:
    @pytest.mark.parametrize("value", PAYLOADS)
    @pytest.mark.parametrize(("kind", "role", "key"), KINDS)
    def test_it_quotes_a_formula_like_name_in_csv(self, world, value, kind, role, key):
        Building.objects.filter(site=world.a1.site).update(name=value)
        page = client_for(getattr(world, role)).get(f"/import/template/{kind}.csv")
        assert page.status_code == 200
        assert example(kind, page.content, "csv")[key].startswith("'" + value)

    @pytest.mark.parametrize("value", PAYLOADS)
    @pytest.mark.parametrize(("kind", "role", "key"), KINDS)
    def test_it_writes_a_formula_like_name_as_text_in_excel(self, world, value, kind, role, key):
        Building.objects.filter(site=world.a1.site).update(name=value)
        page = client_for(getattr(world, role)).get(f"/import/template/{kind}.xlsx")
        assert page.status_code == 200
        cell = example(kind, page.content, "xlsx")[key]
        assert cell.data_type == "s" and cell.quotePrefix and cell.number_format == "@"
        assert cell.value.startswith(value.replace("\r", "\n"))  # XML reads CR back as LF
        # what the importer reads is the name itself, without any quote
        assert read_table(page.content)[1][[c.key for c in COLUMNS[kind]].index(key)].startswith(
            value.strip()
        )

    def test_it_leaves_ordinary_names_alone(self, world):
        page = client_for(world.admin).get("/import/template/units.csv")
        assert example("units", page.content, "csv")["building_name"] == "a1 Block 1"

    def test_it_refuses_a_cashier(self, world):
        assert client_for(world.cashier).get("/import/template/units.xlsx").status_code == 403

    def test_it_gives_an_outsider_only_their_own_data(self, world):
        Building.objects.filter(site=world.a1.site).update(name="=1+1")
        page = client_for(world.clerk_b).get("/import/template/customers.xlsx")
        assert page.status_code == 200
        ws = load_workbook(io.BytesIO(page.content)).active
        assert ws is not None
        assert "=1+1" not in str([c.value for row in ws.iter_rows() for c in row])
