"""The all-or-nothing contract, permissions and file-level checks of run_import."""

from __future__ import annotations

from typing import Any

import pytest

from prepay.common.errors import ActionError
from prepay.imports import kinds
from prepay.imports.importer import may_import, run_import
from prepay.meters.models import Meter
from tests.imports.helpers import METER_HEADER, UNIT_HEADER, counts, csv_bytes, xlsx_bytes


def meter_rows(*serials: str, site: str = "a1") -> list[list[str]]:
    return [METER_HEADER, *[[site, s, "dds", "1", "1", "", "", "", "", "", "", "", "", ""] for s in serials]]


class ImportTransactionTestCase:
    def test_it_rolls_back_every_row_when_an_action_refuses_one_while_writing(
        self, world: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        real = kinds.do_register_meter

        def refuse_s2(**kw: Any) -> Any:
            if kw["serial"] == "S2":
                raise ActionError("duplicate", "Meter S2 is already registered.")
            return real(**kw)

        monkeypatch.setattr(kinds, "do_register_meter", refuse_s2)
        before = counts()
        report = run_import("meters", csv_bytes(meter_rows("S1", "S2", "S3")), actor=world.clerk)
        assert report.bad_rows == [3] and "S2" in report.errors[0].message
        assert report.created == {} and not report.written
        assert counts() == before

    def test_it_writes_nothing_on_a_dry_run_of_a_good_file(self, world: Any) -> None:
        before = counts()
        report = run_import("meters", csv_bytes(meter_rows("S1", "S2")), actor=world.clerk, dry_run=True)
        assert report.ok and not report.written
        assert report.created == {"meter": 2}
        assert "Dry run" in report.summary() or report.summary()
        assert counts() == before

    def test_it_reports_progress_while_writing(self, world: Any) -> None:
        seen: list[tuple[int, int]] = []
        run_import(
            "meters",
            csv_bytes(meter_rows("S1", "S2")),
            actor=world.clerk,
            progress=lambda done, total: seen.append((done, total)),
        )
        assert seen == [(1, 2), (2, 2)]


class ImportPermissionTestCase:
    def test_it_refuses_a_cashier_outright(self, world: Any) -> None:
        before = counts()
        assert not may_import(world.cashier)
        report = run_import("meters", csv_bytes(meter_rows("S1")), actor=world.cashier)
        assert not report.ok and report.errors[0].row is None
        assert counts() == before

    def test_it_refuses_an_outsider_group_row_by_row(self, world: Any) -> None:
        before = counts()
        report = run_import("meters", csv_bytes(meter_rows("S1", "S2")), actor=world.clerk_b)
        assert report.bad_rows == [2, 3]
        assert all(e.column == "site_code" and "no access" in e.message for e in report.errors)
        assert counts() == before

    def test_it_refuses_a_clerk_of_another_site_in_the_same_group(self, world: Any) -> None:
        rows = meter_rows("S1") + [["a2", "S2", "dds", "1", "1", "", "", "", "", "", "", "", "", ""]]
        report = run_import("meters", csv_bytes(rows), actor=world.clerk_a2)
        assert report.bad_rows == [2]
        assert not Meter.objects.filter(serial="S2").exists()

    def test_it_refuses_roles_without_the_underlying_capability(self, world: Any) -> None:
        # finance and auditors may see site a1 but may not import there
        for user in (world.finance, world.auditor):
            report = run_import("meters", csv_bytes(meter_rows("S1")), actor=user)
            assert not report.ok
        assert not Meter.objects.filter(serial="S1").exists()

    def test_it_lets_a_superuser_name_the_group_of_an_ambiguous_site(self, world: Any) -> None:
        from tests import factories as f

        f.site_world(world.b1.group, "a1")  # group B now also has a site "a1"
        root = f.user("root", is_superuser=True)
        report = run_import("meters", csv_bytes(meter_rows("S1")), actor=root)
        assert report.bad_rows == [2] and "GROUP/SITE" in report.errors[0].message
        report = run_import("meters", csv_bytes(meter_rows("S1", site="gb/a1")), actor=root)
        assert report.ok, report.errors
        assert Meter.objects.get(serial="S1").site.group == world.b1.group


class ImportFileTestCase:
    @pytest.mark.parametrize(
        ("data", "fragment"),
        [
            (b"", "empty"),
            (b"\xd0\xcf\x11\xe0rest", ".xls"),
            (csv_bytes([UNIT_HEADER]), "no data rows"),
            (b"PK\x03\x04not a zip", "Excel"),
        ],
    )
    def test_it_reports_unreadable_files(self, world: Any, data: bytes, fragment: str) -> None:
        report = run_import("units", data, actor=world.admin)
        assert not report.ok and fragment in report.errors[0].message

    def test_it_reports_unknown_duplicate_and_missing_columns(self, world: Any) -> None:
        header = ["site_code", "站点编码", "bulding_code", "unit_number"]
        report = run_import("units", csv_bytes([header, ["a1", "a1", "B1", "301"]]), actor=world.admin)
        cols = {e.column for e in report.errors}
        assert {"站点编码", "bulding_code", "building_code"} <= cols
        assert all(e.row == 1 for e in report.errors)

    def test_it_accepts_bilingual_headers_semicolons_and_skips_blank_rows(self, world: Any) -> None:
        header = [
            "站点编码 (site_code)",
            "Building Code",
            "楼栋名称",
            "房号/unit_number",
            "*floor",
            "面积(m²)",
        ]
        data = csv_bytes(
            [
                header,
                ["a1", "B1", "", "301", "3", "1"],
                ["", "", "", "", "", ""],
                ["a1", "B1", "", "302", "3", "1"],
            ],
            delimiter=";",
        )
        report = run_import("units", data, actor=world.admin)
        assert report.ok, report.errors
        assert report.rows == 2

    def test_it_reports_a_value_under_no_header(self, world: Any) -> None:
        data = xlsx_bytes([UNIT_HEADER, ["a1", "B1", "", "301", 3, 1, "stray"]])
        report = run_import("units", data, actor=world.admin)
        assert report.bad_rows == [2]
