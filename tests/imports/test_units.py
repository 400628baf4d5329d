"""Importing units (and their buildings)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from prepay.audit.models import AuditEvent
from prepay.customers.models import Building, Unit
from prepay.imports.importer import run_import
from tests.imports.helpers import UNIT_HEADER, counts, csv_bytes, xlsx_bytes


class UnitImportTestCase:
    def test_it_imports_units_from_csv_into_an_existing_building(self, world: Any) -> None:
        data = csv_bytes(
            [UNIT_HEADER, ["a1", "B1", "", "301", "3", "88.5"], ["a1", "B1", "", "302", "3", "90"]]
        )
        report = run_import("units", data, actor=world.admin)
        assert report.ok, report.errors
        assert report.written and report.created == {"unit": 2}
        unit = Unit.objects.get(building=world.a1.building, number="301")
        assert unit.floor == 3 and unit.area == Decimal("88.500")
        assert AuditEvent.objects.filter(verb="unit.create").count() == 2

    def test_it_creates_a_new_building_once_from_xlsx(self, world: Any) -> None:
        data = xlsx_bytes(
            [
                UNIT_HEADER,
                ["a1", "B9", "Block 9", "101", 1, 75.25],
                ["a1", "B9", None, "1201", 12, 80],
                ["a2", "B9", "A2 Block 9", "101", 1, None],
            ]
        )
        report = run_import("units", data, actor=world.admin)
        assert report.ok, report.errors
        assert report.created == {"building": 2, "unit": 3}
        b9 = Building.objects.get(site=world.a1.site, code="B9")
        assert b9.name == "Block 9" and b9.floors == 12
        assert Unit.objects.get(building=b9, number="101").area == Decimal("75.250")
        assert Unit.objects.get(building__site=world.a2.site, building__code="B9").area == Decimal("0")
        assert AuditEvent.objects.filter(verb="building.create").count() == 2

    def test_it_accepts_chinese_headers_and_a_bom(self, world: Any) -> None:
        header = ["站点编码", "楼栋编码", "楼栋名称", "房号", "楼层", "面积（平方米）"]
        data = csv_bytes([header, ["a1", "B2", "2号楼", "101", "1", "60"]], encoding="utf-8-sig")
        assert data.startswith(b"\xef\xbb\xbf")
        report = run_import("units", data, actor=world.admin)
        assert report.ok, report.errors
        assert Building.objects.get(site=world.a1.site, code="B2").name == "2号楼"

    def test_it_reads_gb18030_csv_from_chinese_excel(self, world: Any) -> None:
        header = ["站点编码", "楼栋编码", "楼栋名称", "房号", "楼层", "面积"]
        data = csv_bytes([header, ["a1", "B3", "三号楼", "101", "1", "60"]], encoding="gb18030")
        report = run_import("units", data, actor=world.admin)
        assert report.ok, report.errors
        assert Building.objects.get(site=world.a1.site, code="B3").name == "三号楼"

    def test_it_reports_every_bad_unit_row_and_writes_nothing(self, world: Any) -> None:
        before = counts()
        data = csv_bytes(
            [
                UNIT_HEADER,
                ["a1", "B1", "", "301", "3", "70"],  # good
                ["a1", "B1", "", "101", "1", "70"],  # exists in the database
                ["a1", "B1", "", "301", "3", "70"],  # duplicate of row 2
                ["zz", "B1", "", "401", "4", "70"],  # unknown site
                ["a1", "B7", "", "101", "1", "70"],  # new building without a name
                ["a1", "B1", "", "402", "four", "-1"],  # bad floor and negative area
                ["a1", "B1", "", "403", "4", "1.2345"],  # too many decimals
                ["a1", "", "", "", "4", "1"],  # required values missing
            ]
        )
        report = run_import("units", data, actor=world.admin)
        assert not report.ok and not report.written
        assert report.bad_rows == [3, 4, 5, 6, 7, 8, 9]
        columns = {(e.row, e.column) for e in report.errors}
        assert {
            (3, "unit_number"),
            (4, "unit_number"),
            (5, "site_code"),
            (6, "building_name"),
            (7, "floor"),
            (7, "area_m2"),
            (8, "area_m2"),
            (9, "building_code"),
            (9, "unit_number"),
        } <= columns
        assert "row 2" in next(e.message for e in report.errors if e.row == 4)
        assert counts() == before

    def test_it_refuses_a_clerk_because_units_are_master_data(self, world: Any) -> None:
        before = counts()
        report = run_import(
            "units", csv_bytes([UNIT_HEADER, ["a1", "B1", "", "301", "3", "70"]]), actor=world.clerk
        )
        assert report.bad_rows == [2] and report.errors[0].column == "site_code"
        assert counts() == before

    def test_it_refuses_a_decimal_comma_but_reads_thousands(self, world: Any) -> None:
        data = csv_bytes(
            [UNIT_HEADER, ["a1", "B1", "", "301", "3", "88,5"], ["a1", "B1", "", "302", "3", "1,234.5"]]
        )
        report = run_import("units", data, actor=world.admin)
        assert report.bad_rows == [2]
        data = csv_bytes([UNIT_HEADER, ["a1", "B1", "", "302", "3", "1,234.5"]])
        assert run_import("units", data, actor=world.admin).ok
        assert Unit.objects.get(building=world.a1.building, number="302").area == Decimal("1234.500")
