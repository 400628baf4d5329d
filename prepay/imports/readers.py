"""Reading an uploaded CSV or XLSX file into rows of text cells.

Contract: :func:`read_table` returns every row of the file (header first) as a list of stripped
strings, or raises :class:`FileError` with a message for people. Cell values never leave here as
``float``: numbers become their shortest decimal text, so downstream parsing is exact ``Decimal``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

#: refuse files bigger than this many data rows (one transaction must stay reasonable)
MAX_ROWS = 50_000

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls


class FileError(Exception):
    """The file cannot be read at all (wrong format, encoding, empty)."""


def cell_text(value: Any) -> str:
    """One cell as text: ``None``→"", integral numbers without ``.0``, dates as ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # The spreadsheet already stored a binary float; repr() is its shortest exact decimal text.
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def decode_text(data: bytes) -> str:
    """Decode CSV bytes: UTF-16 (with BOM), UTF-8 (with or without BOM), else GB18030 (Chinese Excel)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileError(_("The file is neither UTF-8 nor GB18030 text, nor an Excel .xlsx workbook."))


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(data: bytes) -> list[list[str]]:
    """Rows of a CSV file; the delimiter (comma, semicolon or tab) is taken from the header line."""
    text = decode_text(data)
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first))
    try:
        return [[cell_text(c) for c in row] for row in reader]
    except csv.Error as exc:
        raise FileError(_("The CSV file is malformed: %(e)s") % {"e": exc}) from None


def read_xlsx(data: bytes) -> list[list[str]]:
    """Rows of the first sheet of an .xlsx workbook (values, not formulas)."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileError(_("The Excel file cannot be read: %(e)s") % {"e": exc}) from None
    try:
        if not wb.worksheets:
            raise FileError(_("The workbook has no sheet."))
        rows: list[list[str]] = []
        for values in wb.worksheets[0].iter_rows(values_only=True):
            rows.append([cell_text(v) for v in values])
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    finally:
        wb.close()


def read_table(data: bytes, filename: str = "") -> list[list[str]]:
    """Rows of a CSV or XLSX file (told apart by content, not name), trailing empty rows dropped."""
    if not data.strip():
        raise FileError(_("The file is empty."))
    if data.startswith(OLE_MAGIC) or filename.lower().endswith(".xls"):
        raise FileError(_("Old .xls workbooks are not supported; save the file as .xlsx or CSV."))
    rows = read_xlsx(data) if data.startswith(ZIP_MAGIC) else read_csv(data)
    while rows and not any(rows[-1]):
        rows.pop()
    if not rows:
        raise FileError(_("The file is empty."))
    if len(rows) - 1 > MAX_ROWS:
        raise FileError(
            _("The file has more than %(n)d rows; split it into smaller files.") % {"n": MAX_ROWS}
        )
    return rows
