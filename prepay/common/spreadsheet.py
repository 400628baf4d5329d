"""Every CSV and Excel file Prepay writes goes through here, so no text a person typed can become a
spreadsheet formula (the OWASP CSV-injection rule).

Contract:

- *Formula-like* text is a ``str`` (or lazy translation) that starts with ``=``, ``+``, ``-``, ``@``,
  a tab or a carriage return (:data:`FORMULA_PREFIXES`).
- CSV (:func:`csv_writer`, :func:`csv_value`): formula-like text is written with one leading single
  quote (``'=SUM(A1)``); everything else is written as the csv module writes it.
- Excel (:func:`write_cell`, :func:`write_row`, :func:`workbook_bytes`): formula-like text is stored as
  a *string* cell (never ``<f>``) with Excel's "quote prefix" style, its text unchanged, so the sheet
  shows exactly what was typed and Excel keeps it text even when the cell is edited. Characters that
  XML 1.0 cannot carry (control characters other than tab, LF and CR) are dropped rather than failing
  the whole file; lazy translation strings are written as text.
- Numbers (``int``, ``Decimal``, ``float``), dates, times and booleans are never touched: a negative
  amount stays a number in both formats.
- Excel holds at most :data:`CELL_TEXT_MAX` characters (UTF-16 code units) in a cell and calls a
  file with a longer one damaged. Longer text (a long audit record, say) is cut to fit, and its end
  says so and how long the whole text is (:func:`fit_cell_text`); the full text stays in Prepay and
  in CSV, which has no such limit.
- :func:`workbook_bytes` is the only way an openpyxl workbook leaves Prepay: it sweeps every cell of
  every sheet once more before saving, so a workbook never holds a formula, however its cells were
  written.
- Exports of any size are written by :class:`prepay.common.xlsx_stream.XlsxStream` (rows straight
  into the sheet's XML, constant memory), under the same rules: it has no way to write a formula, and
  it gives formula-like text the quote prefix.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any, TextIO

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.worksheet.worksheet import Worksheet

#: what makes Excel, LibreOffice or Google Sheets read a cell as a formula (OWASP)
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
#: characters a worksheet title may not hold, and its length limit
_BAD_TITLE = re.compile(r"[\\/?*\[\]:]")
_TITLE_MAX = 31
#: the most characters (UTF-16 code units) Excel holds in one cell
CELL_TEXT_MAX = 32767


def _text(value: Any) -> Any:
    """Lazy translation strings as ``str``; anything else unchanged."""
    return str(value) if isinstance(value, Promise) else value


def is_formula_like(value: Any) -> bool:
    """True when ``value`` is text that a spreadsheet would evaluate (see the module contract)."""
    value = _text(value)
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


# ---------------------------------------------------------------- CSV


def csv_value(value: Any) -> Any:
    """``value`` for a CSV cell: formula-like text gets a leading ``'``; other values are unchanged."""
    value = _text(value)
    if is_formula_like(value):
        return "'" + value
    return value


class CsvWriter:
    """A ``csv.writer`` whose every cell goes through :func:`csv_value`."""

    def __init__(self, out: TextIO, **fmtparams: Any) -> None:
        self._writer = csv.writer(out, **fmtparams)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([csv_value(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(out: TextIO, **fmtparams: Any) -> CsvWriter:
    """The CSV writer every CSV file Prepay produces is written with (same arguments as ``csv.writer``)."""
    return CsvWriter(out, **fmtparams)


# ---------------------------------------------------------------- Excel


def fit_cell_text(text: str) -> str:
    """``text`` cut to :data:`CELL_TEXT_MAX` UTF-16 code units if longer, ending with a note that it
    was cut and how many characters it had; shorter text is returned unchanged. A character outside
    the Basic Multilingual Plane (two code units) is never split."""
    if len(text) <= CELL_TEXT_MAX // 2:  # at most two code units a character: fits
        return text
    units = text.encode("utf-16-le")
    if len(units) <= 2 * CELL_TEXT_MAX:
        return text
    note = " … " + _("[cut to fit an Excel cell: %(n)s characters in all]") % {"n": f"{len(text):,}"}
    room = CELL_TEXT_MAX - len(note.encode("utf-16-le")) // 2
    # a surrogate pair cut in half leaves one lone half, which "ignore" drops
    return units[: 2 * room].decode("utf-16-le", errors="ignore") + note


def sheet_title(title: Any) -> str:
    """``title`` as a worksheet title: characters Excel refuses replaced, cut to 31, never empty."""
    return _BAD_TITLE.sub("-", str(title))[:_TITLE_MAX] or "Sheet"


def new_workbook(title: str) -> tuple[Workbook, Worksheet]:
    """A new workbook and its one sheet, titled ``title`` (see :func:`sheet_title`)."""
    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)  # a new workbook always has one worksheet
    ws.title = sheet_title(title)
    return wb, ws


def _neutralise(cell: Cell) -> None:
    """Make a text cell that would be a formula a plain string cell with the quote-prefix style, and
    cut text too long for a cell (:func:`fit_cell_text`)."""
    if isinstance(cell.value, str) and (fitted := fit_cell_text(cell.value)) is not cell.value:
        cell.value = fitted  # before the check below: setting a value re-types it
    if isinstance(cell.value, str) and (cell.data_type == "f" or is_formula_like(cell.value)):
        cell.data_type = "s"
        cell.quotePrefix = True


def set_value(cell: Cell, value: Any) -> Cell:
    """Write ``value`` into ``cell`` under the module contract and return the cell."""
    value = _text(value)
    if isinstance(value, str):  # cut before it is set: openpyxl would cut it silently
        value = fit_cell_text(ILLEGAL_CHARACTERS_RE.sub("", value))
    cell.value = value
    _neutralise(cell)
    return cell


def write_cell(ws: Worksheet, row: int, column: int, value: Any) -> Cell:
    """``ws.cell(row, column)`` holding ``value``, written safely (see :func:`set_value`)."""
    cell = ws.cell(row=row, column=column)
    assert isinstance(cell, Cell)  # not a merged cell: Prepay merges none
    return set_value(cell, value)


def write_row(ws: Worksheet, row: int, values: Iterable[Any]) -> list[Cell]:
    """Write ``values`` into ``row`` from column A on (see :func:`set_value`); returns the cells."""
    return [write_cell(ws, row, column, value) for column, value in enumerate(values, start=1)]


def workbook_bytes(wb: Workbook) -> bytes:
    """The ``.xlsx`` file of ``wb``, after one last sweep that leaves no formula in any cell."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell, Cell):
                    _neutralise(cell)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


__all__ = [
    "CELL_TEXT_MAX",
    "FORMULA_PREFIXES",
    "CsvWriter",
    "csv_value",
    "csv_writer",
    "fit_cell_text",
    "is_formula_like",
    "new_workbook",
    "set_value",
    "sheet_title",
    "workbook_bytes",
    "write_cell",
    "write_row",
]
