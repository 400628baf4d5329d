"""The row-by-row error report (``ImportReport.write_csv``, ``prepay import … --report FILE.csv``)
writes the file's own column names and values as text: a value such as ``=1+1`` starts with ``'``."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from prepay.imports.importer import run_import
from tests.imports.helpers import METER_HEADER, csv_bytes

PAYLOADS = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


def meters(*rows: list[str], header: list[str] = METER_HEADER) -> bytes:
    return csv_bytes([header, *[r + [""] * (len(header) - len(r)) for r in rows]])


def report_rows(report: Any) -> list[list[str]]:
    out = io.StringIO(newline="")
    report.write_csv(out)
    return list(csv.reader(io.StringIO(out.getvalue(), newline="")))


class ErrorReportTestCase:
    @pytest.mark.parametrize("value", PAYLOADS)
    def test_it_quotes_a_formula_like_value(self, world: Any, value: str) -> None:
        report = run_import("meters", meters(["a1", "S1", value]), actor=world.clerk)
        assert not report.ok
        rows = report_rows(report)
        assert rows[0] == ["row", "column", "value", "message"]
        by_column = {r[1]: r for r in rows[1:]}
        # the reader strips cells, so a tab- or CR-started value arrives without its first character
        shown = value.strip()
        expected = "'" + shown if shown[0] in "=+-@" else shown
        assert by_column["meter_model_code"][:3] == ["2", "meter_model_code", expected]

    def test_it_quotes_a_formula_like_column_name(self, world: Any) -> None:
        header = [*METER_HEADER, "=cmd|' /C calc'!A0"]
        report = run_import("meters", meters(["a1", "S1", "dds"], header=header), actor=world.clerk)
        rows = report_rows(report)
        assert rows[1][:2] == ["1", "'=cmd|' /C calc'!A0"]

    def test_it_keeps_the_row_number_a_number(self, world: Any) -> None:
        report = run_import("meters", meters(["a1", "S1", "-1"]), actor=world.clerk)
        assert report_rows(report)[1][0] == "2"

    def test_it_writes_the_report_from_the_command(self, world: Any, tmp_path: Path) -> None:
        path = tmp_path / "meters.csv"
        path.write_bytes(meters(["a1", "S1", "@SUM(A1)"]))
        target = tmp_path / "report.csv"
        with pytest.raises(CommandError):
            call_command(
                "import",
                "meters",
                str(path),
                "--user",
                "clerk_a1",
                "--report",
                str(target),
                stdout=io.StringIO(),
            )
        rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"), newline="")))
        assert rows[1][:3] == ["2", "meter_model_code", "'@SUM(A1)"]

    def test_it_tells_a_cashier_only_that_they_may_not_import(self, world: Any) -> None:
        report = run_import("meters", meters(["a1", "S1", "=1+1"]), actor=world.cashier)
        assert [r[2] for r in report_rows(report)[1:]] == [""]

    def test_it_reports_an_outsiders_own_values_only(self, world: Any) -> None:
        report = run_import("meters", meters(["=a1", "S1", "dds"]), actor=world.clerk_b)
        rows = report_rows(report)
        assert rows[1][:3] == ["2", "site_code", "'=a1"]
        assert all("Site a1" not in cell for row in rows for cell in row)
