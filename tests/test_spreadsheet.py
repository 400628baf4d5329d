"""No text a person typed becomes a spreadsheet formula (``prepay.common.spreadsheet``), and every CSV
and Excel writer in Prepay goes through that one module."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook

from prepay.common.spreadsheet import (
    FORMULA_PREFIXES,
    csv_value,
    csv_writer,
    is_formula_like,
    new_workbook,
    workbook_bytes,
    write_cell,
    write_row,
)

#: what a person might type to make a spreadsheet run something (OWASP's list of prefixes)
PAYLOADS = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]
HARMLESS = ["Zhang San", "张三", "1+1", "a=b", "", " =1", "'quoted"]
ROOT = Path(__file__).resolve().parents[1]


def read_back(data: bytes):
    ws = load_workbook(io.BytesIO(data)).active
    assert ws is not None
    return ws


def csv_rows(*rows) -> list[list[str]]:
    out = io.StringIO(newline="")
    csv_writer(out).writerows(rows)
    return list(csv.reader(io.StringIO(out.getvalue(), newline="")))


class FormulaLikeTestCase:
    @pytest.mark.parametrize("value", PAYLOADS)
    def test_it_flags_every_formula_prefix(self, value):
        assert is_formula_like(value)

    @pytest.mark.parametrize("value", [*HARMLESS, Decimal("-2.50"), -3, -1.5, None, date(2026, 1, 1)])
    def test_it_leaves_other_values_alone(self, value):
        assert not is_formula_like(value)

    def test_it_reads_lazy_translations_as_text(self):
        assert is_formula_like(gettext_lazy("-x"))
        assert csv_value(gettext_lazy("-x")) == "'-x"

    def test_it_knows_the_owasp_prefixes(self):
        assert set(FORMULA_PREFIXES) == {"=", "+", "-", "@", "\t", "\r"}


class CsvWriterTestCase:
    @pytest.mark.parametrize("value", PAYLOADS)
    def test_it_quotes_formula_like_text(self, value):
        assert csv_rows([value, "name"]) == [["'" + value, "name"]]

    @pytest.mark.parametrize("value", HARMLESS)
    def test_it_writes_other_text_as_it_is(self, value):
        assert csv_rows([value]) == [[value]]

    def test_it_keeps_numbers_negative_and_unquoted(self):
        assert csv_rows([Decimal("-2.50"), -3, 0, date(2026, 1, 2)]) == [["-2.50", "-3", "0", "2026-01-02"]]

    def test_it_passes_csv_options_through(self):
        out = io.StringIO(newline="")
        csv_writer(out, delimiter=";", lineterminator="\r\n").writerow(["a", "=b"])
        assert out.getvalue() == "a;'=b\r\n"


class ExcelCellTestCase:
    @pytest.mark.parametrize("value", PAYLOADS)
    def test_it_writes_formula_like_text_as_a_quoted_string(self, value):
        wb, ws = new_workbook("t")
        write_cell(ws, 1, 1, value)
        cell = read_back(workbook_bytes(wb)).cell(row=1, column=1)
        assert cell.data_type == "s" and cell.quotePrefix
        # XML turns a carriage return into a line feed; every other value reads back as typed
        assert cell.value == value.replace("\r", "\n")

    def test_it_keeps_numbers_and_dates_as_they_are(self):
        wb, ws = new_workbook("t")
        write_row(ws, 1, [Decimal("-2.50"), -3, -1.5, datetime(2026, 1, 2, 3, 4, 5), True])
        ws2 = read_back(workbook_bytes(wb))
        cells = [ws2.cell(row=1, column=c) for c in range(1, 6)]
        assert [c.data_type for c in cells] == ["n", "n", "n", "d", "b"]
        assert [c.value for c in cells[:3]] == [-2.5, -3, -1.5]
        assert not any(c.quotePrefix for c in cells)

    def test_it_leaves_harmless_text_unstyled(self):
        wb, ws = new_workbook("t")
        write_row(ws, 1, ["Zhang San", "a=b"])
        ws2 = read_back(workbook_bytes(wb))
        assert [ws2.cell(row=1, column=c).quotePrefix for c in (1, 2)] == [False, False]

    def test_it_drops_characters_xml_cannot_hold(self):
        wb, ws = new_workbook("t")
        write_cell(ws, 1, 1, "Li\x0bSi\x00")
        assert read_back(workbook_bytes(wb)).cell(row=1, column=1).value == "LiSi"

    def test_it_writes_lazy_translations_as_text(self):
        wb, ws = new_workbook("t")
        write_cell(ws, 1, 1, gettext_lazy("Total"))
        assert read_back(workbook_bytes(wb)).cell(row=1, column=1).value == "Total"

    def test_it_sweeps_cells_written_around_the_helpers(self):
        wb, ws = new_workbook("t")
        ws.append(["=1+1"])  # as a careless writer would
        ws.cell(row=2, column=1, value='=HYPERLINK("http://x","y")')
        ws2 = read_back(workbook_bytes(wb))
        assert [ws2.cell(row=r, column=1).data_type for r in (1, 2)] == ["s", "s"]
        assert ws2.cell(row=1, column=1).value == "=1+1"

    def test_it_names_a_sheet_with_characters_excel_refuses(self):
        wb, ws = new_workbook("Sales / 售电 [A1]: what? *all* and a very long tail")
        assert ws.title == "Sales - 售电 -A1-- what- -all- and a very long tail"[:31]
        assert read_back(workbook_bytes(wb)).title == ws.title


class OneWriterTestCase:
    """Every CSV and Excel file is written through prepay.common.spreadsheet."""

    WRITERS = re.compile(
        r"csv\.writer\(|csv\.DictWriter\(|\bWorkbook\(|\b(?:wb|workbook|book)\.save\(|\.cell\([^)]*value\s*=|\bws\.append\("
    )

    def test_it_finds_no_writer_elsewhere(self):
        offenders = []
        for path in (ROOT / "prepay").rglob("*.py"):
            if path.name == "spreadsheet.py" or "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            if "openpyxl" not in text and "csv" not in text:
                continue
            offenders += [
                f"{path.relative_to(ROOT)}:{n}"
                for n, line in enumerate(text.splitlines(), start=1)
                if self.WRITERS.search(line)
            ]
        assert offenders == []
