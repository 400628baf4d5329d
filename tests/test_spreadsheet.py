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
    CELL_TEXT_MAX,
    FORMULA_PREFIXES,
    csv_value,
    csv_writer,
    fit_cell_text,
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


def units(text: str) -> int:
    """Characters as Excel counts them: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


class CellLengthTestCase:
    """Excel holds at most 32,767 characters in a cell: longer text is cut, saying so."""

    def test_text_that_fits_is_unchanged(self):
        assert CELL_TEXT_MAX == 32767
        for text in ["x" * CELL_TEXT_MAX, "电" * CELL_TEXT_MAX, "😀" * (CELL_TEXT_MAX // 2), ""]:
            assert fit_cell_text(text) == text

    def test_longer_text_is_cut_to_the_limit_and_says_how_long_it_was(self):
        text = "a" * 20000 + "b" * 20000
        cut = fit_cell_text(text)
        assert units(cut) == CELL_TEXT_MAX
        assert cut.startswith("a" * 20000 + "b" * 10000)
        assert cut.endswith("[cut to fit an Excel cell: 40,000 characters in all]")
        assert fit_cell_text("x" * (CELL_TEXT_MAX + 1)).endswith("32,768 characters in all]")

    def test_a_character_of_two_code_units_is_never_split(self):
        text = "a" + "😀" * 20000  # 40,001 code units: the cut falls inside a pair
        cut = fit_cell_text(text)
        assert units(cut) <= CELL_TEXT_MAX and "\ud83d" not in cut.encode("utf-16-le").decode("utf-16-le")
        body = cut.split(" … ")[0]
        assert body == "a" + "😀" * (len(body) - 1) and units(body) >= CELL_TEXT_MAX - 80
        cut.encode("utf-8")  # no lone surrogate: it would not encode

    def test_the_note_is_in_the_reader_s_language(self):
        from django.utils import translation

        with translation.override("zh-hans"):
            cut = fit_cell_text("x" * 40000)
        assert (
            cut.endswith("[为放入 Excel 单元格已截断：全文共 40,000 个字符]") and units(cut) == CELL_TEXT_MAX
        )

    def test_openpyxl_cells_are_cut_whether_written_by_the_helpers_or_around_them(self):
        wb, ws = new_workbook("t")
        write_cell(ws, 1, 1, "=" + "x" * 40000)  # formula-like and too long
        # written around the helpers: openpyxl itself keeps 32,767 characters, but an emoji is two
        # of Excel's, so the sweep still has to cut
        ws.cell(row=2, column=1, value="😀" * 40000)
        ws2 = read_back(workbook_bytes(wb))
        first, second = ws2.cell(row=1, column=1), ws2.cell(row=2, column=1)
        assert (
            units(first.value) == CELL_TEXT_MAX and CELL_TEXT_MAX - 2 <= units(second.value) <= CELL_TEXT_MAX
        )
        assert first.data_type == "s" and first.quotePrefix and first.value.startswith("=xxx")
        assert first.value.endswith("40,001 characters in all]") and "cut to fit" in second.value

    def test_csv_keeps_the_whole_text(self):
        assert csv_rows(["z" * 40000]) == [["z" * 40000]]


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
