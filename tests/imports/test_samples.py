"""Template files: their example row imports as it is."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook

from prepay.imports.columns import COLUMNS, KINDS
from prepay.imports.importer import run_import
from prepay.imports.samples import example_row, template_bytes


class TemplateFileTestCase:
    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize("fmt", ["csv", "xlsx"])
    @pytest.mark.parametrize("language", ["en", "zh"])
    def test_it_round_trips_through_the_importer(
        self, world: Any, kind: str, fmt: str, language: str
    ) -> None:
        actor = world.clerk if kind != "units" else world.admin
        data = template_bytes(kind, fmt, language=language, actor=actor)
        report = run_import(kind, data, actor=actor)
        assert report.ok, report.errors
        assert report.rows == 1

    def test_it_keeps_text_cells_in_xlsx(self, world: Any) -> None:
        ws = load_workbook(io.BytesIO(template_bytes("meters", "xlsx", actor=world.clerk))).active
        assert ws is not None
        header = [c.value for c in ws[1]]
        assert header == [c.key for c in COLUMNS["meters"]]
        assert ws.cell(row=2, column=header.index("drn") + 1).number_format == "@"

    def test_it_uses_placeholders_without_a_user(self, db: Any) -> None:
        assert example_row("units")["site_code"] == "SITE1"

    def test_it_leaves_the_unit_out_when_every_unit_is_taken(self, world: Any) -> None:
        from tests import factories as f

        for unit in world.a1.units:
            f.account(world.a1, unit=unit)
        row = example_row("customers", world.clerk)
        assert row["building_code"] == row["unit_number"] == row["utility"] == ""
        assert run_import(
            "customers", template_bytes("customers", "csv", actor=world.clerk), actor=world.clerk
        ).ok
