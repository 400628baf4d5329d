"""prepay.common.xlsx_stream: the write-only .xlsx writer of exports, read back by openpyxl."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from datetime import UTC, date, datetime, time
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from django.utils import timezone
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook
from openpyxl.utils.datetime import to_excel

from prepay.common import xlsx_stream
from prepay.common.xlsx_stream import PLAIN, Style, XlsxStream, column_letter, serial

MONEY = Style(number_format="#,##0.00")


def written(rows, title="Sheet", widths=(), frozen=0):
    out = io.BytesIO()
    with XlsxStream(out, title) as sheet:
        sheet.widths = list(widths)
        sheet.frozen_rows = frozen
        for row in rows:
            sheet.row(row)
    return out.getvalue()


def read(data):
    return load_workbook(io.BytesIO(data))


class ValuesTestCase:
    def test_numbers_stay_numbers_and_exact(self):
        values = [Decimal("12.34"), Decimal("-0.10"), Decimal("123456789012.345"), 7, -3, 2.5, True]
        ws = read(written([[(v, PLAIN) for v in values]])).active
        cells = [ws.cell(row=1, column=c) for c in range(1, len(values) + 1)]
        assert [c.data_type for c in cells] == ["n"] * 6 + ["b"]
        assert [Decimal(str(c.value)) for c in cells[:3]] == values[:3]
        assert [c.value for c in cells[3:]] == [7, -3, 2.5, True]

    def test_a_decimal_is_written_as_its_own_text(self):
        data = written([[(Decimal("0.30"), MONEY), (Decimal("1E+3"), MONEY)]])
        sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
        assert "<v>0.30</v>" in sheet and "<v>1E+3</v>" in sheet

    def test_non_finite_numbers_are_written_as_their_text(self):
        ws = read(written([[(Decimal("NaN"), PLAIN), (float("inf"), PLAIN)]])).active
        assert [ws["A1"].value, ws["B1"].value] == ["NaN", "inf"]

    @pytest.mark.parametrize(
        "value",
        [
            datetime(2026, 12, 5, 18, 9, 57),
            datetime(2026, 1, 1, 0, 0, 0, 499),
            datetime(2024, 2, 29, 23, 59, 59, 999000),
            datetime(1900, 2, 28, 12),
            datetime(1900, 3, 1, 6),
            date(2026, 6, 30),
            date(1900, 1, 1),
            time(13, 45, 30),
        ],
    )
    def test_dates_and_times_are_excel_serials(self, value):
        assert serial(value) == pytest.approx(to_excel(value), abs=1e-9)

    def test_dates_read_back_with_their_format(self):
        when = datetime(2026, 12, 5, 18, 9, 57)
        styles = [Style(number_format="yyyy-mm-dd hh:mm:ss"), Style(number_format="yyyy-mm-dd")]
        ws = read(written([[(when, styles[0]), (when.date(), styles[1])]])).active
        assert ws["A1"].value == when and ws["A1"].number_format == "yyyy-mm-dd hh:mm:ss"
        assert ws["B1"].value == datetime(2026, 12, 5) and ws["B1"].number_format == "yyyy-mm-dd"

    def test_an_aware_datetime_is_written_in_local_time(self):
        aware = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
        local = timezone.localtime(aware).replace(tzinfo=None)
        assert serial(aware) == serial(local)

    def test_text_is_kept_as_typed(self):
        texts = ["a & b <c> \"d\" 'e'", "  spaced  ", "售电 明细", "line\nbreak", "cr\rhere", "tab\tin"]
        ws = read(written([[(t, PLAIN) for t in texts]])).active
        assert [ws.cell(row=1, column=c).value for c in range(1, len(texts) + 1)] == texts

    def test_characters_xml_cannot_hold_are_dropped(self):
        ws = read(written([[("bell\x07 and \x1f unit\ufffe", PLAIN)]])).active
        assert ws["A1"].value == "bell and  unit"

    def test_blanks_keep_their_style(self):
        ws = read(written([[(None, MONEY), ("", MONEY), (1, PLAIN)]])).active
        assert ws["A1"].value is None and ws["B1"].value is None
        assert ws["A1"].number_format == ws["B1"].number_format == "#,##0.00"

    def test_lazy_translations_and_other_objects_are_text(self):
        ws = read(written([[(gettext_lazy("Total"), PLAIN), (Decimal, PLAIN)]])).active
        assert ws["A1"].value == "Total" and ws["B1"].value == str(Decimal)


class FormulaTestCase:
    @pytest.mark.parametrize("value", ["=1+1", "+1", "-2+3", "@SUM(A1)", "\tx", "\rcmd", '=HYPERLINK("x")'])
    def test_formula_like_text_is_a_quoted_string(self, value):
        data = written([[(value, MONEY)]])
        ws = read(data).active
        cell = ws["A1"]
        assert (cell.value, cell.data_type, cell.quotePrefix) == (value, "s", True)
        assert cell.number_format == "#,##0.00"  # its column's style, quote prefix added
        assert "<f>" not in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()

    def test_harmless_text_and_negative_numbers_are_not_quoted(self):
        ws = read(written([[("a=b", PLAIN), (Decimal("-5.00"), MONEY)]])).active
        assert not ws["A1"].quotePrefix and not ws["B1"].quotePrefix
        assert ws["B1"].data_type == "n" and ws["B1"].value == -5


class CellLengthTestCase:
    def test_text_longer_than_a_cell_holds_is_cut_saying_so_and_formula_like_stays_quoted(self):
        ws = read(written([[("=" + "x" * 40000, PLAIN), ("y" * 32767, PLAIN)]])).active
        cut, whole = ws["A1"], ws["B1"]
        assert len(cut.value) == 32767 and cut.value.startswith("=xxx") and cut.quotePrefix
        assert cut.value.endswith("[cut to fit an Excel cell: 40,001 characters in all]")
        assert whole.value == "y" * 32767  # exactly at the limit: whole


class SheetTestCase:
    def test_styles_widths_and_frozen_rows(self):
        title = Style(font="title")
        header = Style(font="bold", fill="DDE7E3", border="bottom", centred=True)
        total = Style(font="bold", border="top", number_format="#,##0.000")
        rows = [[("Title", title)], [], [("Head", header), ("Energy", header)], [("Total", total)]]
        ws = read(written(rows, widths=[21, 8.5], frozen=3)).active
        assert ws["A1"].font.b and ws["A1"].font.sz == 14
        assert ws["A3"].font.b and ws["A3"].fill.fgColor.rgb == "FFDDE7E3"
        assert ws["A3"].border.bottom.style == "thin" and ws["A3"].alignment.horizontal == "center"
        assert ws["A3"].alignment.wrap_text
        assert ws["A4"].border.top.style == "thin" and ws["A4"].number_format == "#,##0.000"
        assert ws.freeze_panes == "A4"
        assert ws.column_dimensions["A"].width == 21 and ws.column_dimensions["B"].width == 8.5
        assert ws.max_row == 4 and ws["A2"].value is None

    def test_title_and_properties(self):
        wb = read(written([[("x", PLAIN)]], title='Sales / 售电 [A1]: "what"? & more, a long tail'))
        assert wb.active.title == 'Sales - 售电 -A1-- "what"- & more'[:31]
        assert wb.properties.title == 'Sales / 售电 [A1]: "what"? & more, a long tail'
        assert wb.properties.creator == "Prepay"

    def test_every_part_is_well_formed_xml(self):
        data = written([[("x", MONEY), (1, Style(number_format="0.00%"))]], widths=[10], frozen=1)
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for name in z.namelist():
                ElementTree.fromstring(z.read(name))  # noqa: S314 - the file this test just wrote
            assert "[Content_Types].xml" in z.namelist() and "xl/styles.xml" in z.namelist()

    def test_an_empty_sheet_is_a_valid_file(self):
        ws = read(written([])).active
        assert ws.max_row == 1 and ws["A1"].value is None

    def test_the_fast_path_writes_what_row_writes(self):
        out = io.BytesIO()
        with XlsxStream(out, "t") as sheet:
            styles = [sheet.style_ids(MONEY), sheet.style_ids(PLAIN)]
            sheet.values([Decimal("1.50"), "=x"], styles, ["A", "B"])
            sheet.row([(Decimal("1.50"), MONEY), ("=x", PLAIN)])
        ws = read(out.getvalue()).active
        for c in "AB":
            one, two = ws[f"{c}1"], ws[f"{c}2"]
            assert (one.value, one.number_format, one.quotePrefix) == (
                two.value,
                two.number_format,
                two.quotePrefix,
            )

    def test_column_letters(self):
        assert [column_letter(i) for i in (1, 26, 27, 52, 53, 702, 703)] == [
            "A",
            "Z",
            "AA",
            "AZ",
            "BA",
            "ZZ",
            "AAA",
        ]

    def test_a_failure_leaves_no_half_written_sheet_open(self, tmp_path):
        path = tmp_path / "x.xlsx"
        with pytest.raises(RuntimeError), XlsxStream(path, "t") as sheet:
            sheet.row([("a", PLAIN)])
            raise RuntimeError("boom")
        with pytest.raises(Exception):  # noqa: B017 - not a workbook: the caller deletes it
            load_workbook(path)


class SheetLimitTestCase:
    """Excel opens no sheet longer than 1,048,576 rows (MAX_ROWS, made small here)."""

    def test_a_row_past_the_limit_is_refused(self, monkeypatch):
        monkeypatch.setattr(xlsx_stream, "MAX_ROWS", 3)
        with XlsxStream(io.BytesIO(), "t") as sheet:
            for i in range(3):
                sheet.row([(i, PLAIN)])
            assert sheet.rows_left == 0
            with pytest.raises(ValueError, match="at most 3 rows"):
                sheet.values([4], [sheet.style_ids(PLAIN)], ["A"])

    def test_it_goes_on_in_a_new_sheet_with_the_same_columns_and_panes(self, monkeypatch):
        monkeypatch.setattr(xlsx_stream, "MAX_ROWS", 3)
        out = io.BytesIO()
        title = "A title of thirty-one characters"[:31]
        with XlsxStream(out, title) as sheet:
            sheet.widths, sheet.frozen_rows = [17], 1
            for i in range(7):
                if not sheet.rows_left:
                    sheet.next_sheet()
                sheet.row([(i, MONEY)])
        wb = read(out.getvalue())
        assert wb.sheetnames == [title, title[:27] + " (2)", title[:27] + " (3)"]
        assert [[c.value for c in ws["A"]] for ws in wb.worksheets] == [[0, 1, 2], [3, 4, 5], [6]]
        assert all(ws.freeze_panes == "A2" and ws.column_dimensions["A"].width == 17 for ws in wb.worksheets)
        assert wb.worksheets[2]["A1"].number_format == "#,##0.00"


def test_memory_does_not_grow_with_rows(tmp_path):
    """Ten times the rows take no more memory: rows go to the file as they come."""

    def peak(n: int) -> int:
        tracemalloc.start()
        with XlsxStream(tmp_path / f"{n}.xlsx", "t") as sheet:
            styles = [sheet.style_ids(MONEY), sheet.style_ids(PLAIN)]
            for i in range(n):
                sheet.values([Decimal(i) / 100, f"customer {i}"], styles, ["A", "B"])
        top = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return top

    small, large = peak(5_000), peak(50_000)
    assert large < small * 1.5 + 256 * 1024, (small, large)
    ws = load_workbook(tmp_path / "50000.xlsx", read_only=True).active
    assert sum(1 for _ in ws.iter_rows(values_only=True)) == 50_000
