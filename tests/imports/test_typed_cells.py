"""Cells as people type them: full-width digits are digits, only plain decimals are numbers, and a
value our own CSV export protected with a leading ' imports as it was."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from prepay.customers.models import Unit
from prepay.imports.importer import run_import
from tests.imports.helpers import UNIT_HEADER, counts, csv_bytes


class TypedCellTestCase:
    def test_it_reads_full_width_numbers(self, world: Any) -> None:
        data = csv_bytes([UNIT_HEADER, ["a1", "B1", "", "301", "３", "８８．５"]])
        report = run_import("units", data, actor=world.admin)
        assert report.ok, report.errors
        unit = Unit.objects.get(building=world.a1.building, number="301")
        assert unit.floor == 3 and unit.area == Decimal("88.500")

    @pytest.mark.parametrize("area", ["1E+2", "1_000", "NaN", "Infinity", "0x10"])
    def test_it_refuses_what_is_not_a_plain_decimal(self, world: Any, area: str) -> None:
        before = counts()
        report = run_import(
            "units", csv_bytes([UNIT_HEADER, ["a1", "B1", "", "301", "3", area]]), actor=world.admin
        )
        assert report.bad_rows == [2] and "is not a number" in report.errors[0].message
        assert counts() == before

    def test_a_value_protected_by_an_export_imports_as_it_was(self, world: Any) -> None:
        report = run_import(
            "units", csv_bytes([UNIT_HEADER, ["a1", "B1", "", "'-101", "-1", "20"]]), actor=world.admin
        )
        assert report.ok, report.errors
        assert Unit.objects.filter(building=world.a1.building, number="-101").exists()
