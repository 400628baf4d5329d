"""A write-only ``.xlsx`` writer for exports of any size (issue 17): rows go straight into the
sheet's XML inside the zip file, so memory stays constant and a row costs a few string joins
instead of a cell object per value (openpyxl's write-only mode spends about 130 µs a row here).

Contract (the rules of :mod:`prepay.common.spreadsheet` apply to every cell):

- A cell is written by the type of its value: ``Decimal``, ``int`` and ``float`` as numbers (a
  Decimal exactly as its text, never through float); ``datetime``, ``date`` and ``time`` as Excel
  serial numbers (an aware datetime in the current time zone); ``bool`` as a boolean; ``None`` and
  ``""`` as a blank cell that keeps its style; anything else (lazy translations included) as text.
  A non-finite number is written as its text.
- Text is an inline string: formula-like text (:func:`~prepay.common.spreadsheet.is_formula_like`)
  gets its style with Excel's quote prefix, so it stays text; characters XML 1.0 cannot carry are
  dropped; ``&``, ``<``, ``>`` and carriage returns are escaped. No cell is ever a formula: this
  writer has no way to write one. Text longer than a cell holds is cut to fit, saying so
  (:func:`~prepay.common.spreadsheet.fit_cell_text`).
- :class:`Style` says how a cell looks (font, fill, border, centred, number format). Styles are
  numbered in the order first used and written to ``styles.xml`` when the file is closed.
- Column widths and the frozen rows are set before the first row. :meth:`XlsxStream.close` writes
  the remaining parts; the file is complete only then (use it as a context manager).
- A sheet holds at most :data:`MAX_ROWS` rows (Excel opens no sheet longer than 1,048,576 rows): a
  row past that is refused (``ValueError``) rather than written into a file Excel cannot open;
  :meth:`XlsxStream.next_sheet` goes on in a new sheet of the same workbook, with the same column
  widths and frozen rows (:attr:`XlsxStream.rows_left` says when).
"""

from __future__ import annotations

import math
import re
import zipfile
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any, NamedTuple

from django.utils import timezone

from prepay.common.spreadsheet import FORMULA_PREFIXES, fit_cell_text, sheet_title

#: the most rows a sheet may hold (Excel's limit)
MAX_ROWS = 1_048_576
#: rows joined before they are handed to the compressor
FLUSH_EVERY = 500
#: zlib level: 1 is 4-5 times faster than the default 6, and sheet XML still shrinks about tenfold
COMPRESS_LEVEL = 1

_EPOCH = datetime(1899, 12, 30)
_DAY = 86400.0
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ESCAPE = re.compile("[&<>\r]")
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}
#: number formats Excel has built in (the others are declared in styles.xml from id 164)
_BUILT_IN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9, "0.00%": 10}
_FONTS = {"regular": '<sz val="11"/>', "bold": '<b/><sz val="11"/>', "title": '<b/><sz val="14"/>'}
_BORDERS = {
    None: "<left/><right/><top/><bottom/><diagonal/>",
    "bottom": '<left/><right/><top/><bottom style="thin"><color rgb="FF999999"/></bottom><diagonal/>',
    "top": '<left/><right/><top style="thin"><color rgb="FF999999"/></top><bottom/><diagonal/>',
}
_QUOTE_PREFIX = ' quotePrefix="1"'
_NS = "http://schemas.openxmlformats.org"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


class Style(NamedTuple):
    """How a cell looks: ``font`` "regular", "bold" or "title" (bold, 14 pt); ``fill`` an RGB hex
    colour or None; ``border`` a thin grey line at the "top" or "bottom", or None; ``centred``
    (centred and wrapped); ``number_format`` an Excel format code or None (General)."""

    font: str = "regular"
    fill: str | None = None
    border: str | None = None
    centred: bool = False
    number_format: str | None = None


PLAIN = Style()


def escape(text: str) -> str:
    """``text`` as XML character data: characters XML cannot carry dropped, markup escaped."""
    if _NOT_XML.search(text):
        text = _NOT_XML.sub("", text)
    if _ESCAPE.search(text):
        text = _ESCAPE.sub(lambda m: _ESCAPES[m.group()], text)
    return text


def attribute(text: str) -> str:
    """``text`` as the value of an XML attribute in double quotes (:func:`escape`, quotes too)."""
    return escape(text).replace('"', "&quot;")


def serial(value: datetime | date | time) -> float | int:
    """Excel's serial number of a date, time or naive (or aware: local) datetime (1900 system)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = timezone.localtime(value).replace(tzinfo=None)
        delta = value - _EPOCH
        days = delta.days - 1 if 0 < delta.days <= 60 else delta.days  # Excel's 1900-02-29
        return days + (delta.seconds + delta.microseconds / 1e6) / _DAY
    if isinstance(value, date):
        days = (value - _EPOCH.date()).days
        return days - 1 if 0 < days <= 60 else days
    return (value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6) / _DAY


def column_letter(index: int) -> str:
    """The letters of column ``index`` (1 = A, 27 = AA)."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


class XlsxStream:
    """One worksheet written row by row to ``out`` (a path or a binary file) as an ``.xlsx`` file."""

    def __init__(self, out: str | IO[bytes] | Any, title: str, *, creator: str = "Prepay") -> None:
        self.titles = [sheet_title(title)]
        self.doc_title = str(title)
        self.creator = creator
        self.widths: list[float] = []
        self.frozen_rows = 0
        self.rows = 0  # of the current sheet
        self._styles: dict[tuple[Style, bool], int] = {(PLAIN, False): 0}
        self._zip = zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL)
        self._sheet: IO[bytes] | None = None
        self._pending: list[str] = []

    def __enter__(self) -> XlsxStream:
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        if kind is None:
            self.close()
            return
        if self._sheet is not None:  # an incomplete file: whoever called deletes it
            self._sheet.close()
        self._zip.close()

    # ------------------------------------------------------------ cells

    def style_ids(self, style: Style) -> tuple[str, str]:
        """The ``s`` attributes of ``style`` as written in a cell: plain, and with the quote prefix."""
        return self._attr(style, False), self._attr(style, True)

    def _attr(self, style: Style, quoted: bool) -> str:
        index = self._styles.setdefault((style, quoted), len(self._styles))
        return f' s="{index}"' if index else ""

    def cell(self, ref: str, value: Any, styles: tuple[str, str]) -> str:
        """The XML of one cell at ``ref`` holding ``value``, in ``styles`` (from :meth:`style_ids`)."""
        kind = type(value)
        if kind is Decimal or kind is int:  # most cells of a report
            if kind is int or value.is_finite():
                return f'<c r="{ref}"{styles[0]}><v>{value}</v></c>'
            value = str(value)  # NaN, infinities: their text
        elif kind is str:
            pass
        elif value is None:
            return f'<c r="{ref}"{styles[0]}/>'
        elif kind is bool:
            return f'<c r="{ref}"{styles[0]} t="b"><v>{int(value)}</v></c>'
        elif isinstance(value, date | time):  # datetime is a date
            return f'<c r="{ref}"{styles[0]}><v>{serial(value)!r}</v></c>'
        elif isinstance(value, int):  # an int subclass (not bool: handled above)
            return f'<c r="{ref}"{styles[0]}><v>{int(value)}</v></c>'
        elif isinstance(value, float) and math.isfinite(value):
            return f'<c r="{ref}"{styles[0]}><v>{float(value)!r}</v></c>'
        else:
            value = str(value)  # lazy translations, anything else
        if not value:
            return f'<c r="{ref}"{styles[0]}/>'
        quoted = styles[1] if value.startswith(FORMULA_PREFIXES) else styles[0]
        text = escape(fit_cell_text(value))
        return f'<c r="{ref}"{quoted} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'

    @property
    def rows_left(self) -> int:
        """Rows the current sheet can still take (see :data:`MAX_ROWS`)."""
        return MAX_ROWS - self.rows

    def next_sheet(self) -> None:
        """Finish the current sheet and go on in a new one, named after the first with its number
        (``Sales detail (2)``), with the same column widths and frozen rows."""
        self._finish_sheet()
        suffix = f" ({len(self.titles) + 1})"
        self.titles.append(self.titles[0][: 31 - len(suffix)] + suffix)
        self.rows = 0

    def _next_row(self) -> int:
        if self.rows >= MAX_ROWS:
            raise ValueError(f"a sheet holds at most {MAX_ROWS:,} rows: go on in the next sheet")
        self.rows += 1
        return self.rows

    def row(self, cells: list[tuple[Any, Style]]) -> None:
        """Append a row of ``(value, style)`` pairs from column A on (an empty list: a blank row)."""
        n = self._next_row()
        self._append(
            f'<row r="{n}">'
            + "".join(
                self.cell(f"{column_letter(i)}{n}", value, self.style_ids(style))
                for i, (value, style) in enumerate(cells, start=1)
            )
            + "</row>"
        )

    def values(self, values: list[Any], styles: list[tuple[str, str]], letters: list[str]) -> None:
        """Append a row of ``values`` (the fast path for data rows): each in the styles of its
        column (:meth:`style_ids`), at the column letters ``letters``."""
        n = self._next_row()
        cell = self.cell
        self._append(
            f'<row r="{n}">'
            + "".join([cell(f"{c}{n}", v, s) for v, s, c in zip(values, styles, letters, strict=True)])
            + "</row>"
        )

    def _append(self, xml: str) -> None:
        if self._sheet is None:
            self._start()
        self._pending.append(xml)
        if len(self._pending) >= FLUSH_EVERY:
            self._flush()

    def _flush(self) -> None:
        assert self._sheet is not None
        self._sheet.write("".join(self._pending).encode("utf-8"))
        self._pending.clear()

    # ------------------------------------------------------------ parts

    def _start(self) -> None:
        name = f"xl/worksheets/sheet{len(self.titles)}.xml"
        self._sheet = self._zip.open(name, "w", force_zip64=True)
        pane = ""
        if self.frozen_rows:
            first = f"A{self.frozen_rows + 1}"
            pane = (
                f'<pane ySplit="{self.frozen_rows}" topLeftCell="{first}" activePane="bottomLeft" '
                f'state="frozen"/><selection pane="bottomLeft" activeCell="{first}" sqref="{first}"/>'
            )
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
            for i, w in enumerate(self.widths, start=1)
        )
        self._sheet.write(
            (
                f'{_XML}<worksheet xmlns="{_NS}/spreadsheetml/2006/main" '
                f'xmlns:r="{_NS}/officeDocument/2006/relationships">'
                f'<sheetViews><sheetView workbookViewId="0" zoomScale="100">{pane}</sheetView></sheetViews>'
                f'<sheetFormatPr defaultRowHeight="15"/>{f"<cols>{cols}</cols>" if cols else ""}<sheetData>'
            ).encode()
        )

    def _finish_sheet(self) -> None:
        if self._sheet is None:
            self._start()
        self._flush()
        assert self._sheet is not None
        self._sheet.write(b"</sheetData></worksheet>")
        self._sheet.close()
        self._sheet = None

    def close(self) -> None:
        """Finish the sheet and write the workbook's other parts; the file is complete after this."""
        self._finish_sheet()
        for name, xml in self._parts().items():
            self._zip.writestr(name, (_XML + xml).encode("utf-8"))
        self._zip.close()

    def _parts(self) -> dict[str, str]:
        ct = "application/vnd.openxmlformats-"
        rel = f"{_NS}/officeDocument/2006/relationships"
        created = timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "[Content_Types].xml": (
                f'<Types xmlns="{_NS}/package/2006/content-types">'
                f'<Default Extension="rels" ContentType="{ct}package.relationships+xml"/>'
                '<Default Extension="xml" ContentType="application/xml"/>'
                f'<Override PartName="/xl/workbook.xml" ContentType="{ct}officedocument.spreadsheetml.sheet.main+xml"/>'
                + "".join(
                    f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                    f'ContentType="{ct}officedocument.spreadsheetml.worksheet+xml"/>'
                    for i in range(1, len(self.titles) + 1)
                )
                + f'<Override PartName="/xl/styles.xml" ContentType="{ct}officedocument.spreadsheetml.styles+xml"/>'
                f'<Override PartName="/docProps/core.xml" ContentType="{ct}package.core-properties+xml"/>'
                f'<Override PartName="/docProps/app.xml" ContentType="{ct}officedocument.extended-properties+xml"/>'
                "</Types>"
            ),
            "_rels/.rels": (
                f'<Relationships xmlns="{_NS}/package/2006/relationships">'
                f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
                f'<Relationship Id="rId2" Type="{_NS}/package/2006/relationships/metadata/core-properties" '
                'Target="docProps/core.xml"/>'
                f'<Relationship Id="rId3" Type="{rel}/extended-properties" Target="docProps/app.xml"/>'
                "</Relationships>"
            ),
            "docProps/core.xml": (
                f'<cp:coreProperties xmlns:cp="{_NS}/package/2006/metadata/core-properties" '
                'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
                'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
                f"<dc:title>{escape(self.doc_title)}</dc:title><dc:creator>{escape(self.creator)}</dc:creator>"
                f'<dcterms:created xsi:type="dcterms:W3CDTF">{created}</dcterms:created>'
                "</cp:coreProperties>"
            ),
            "docProps/app.xml": (
                f'<Properties xmlns="{_NS}/officeDocument/2006/extended-properties">'
                f"<Application>{escape(self.creator)}</Application></Properties>"
            ),
            "xl/workbook.xml": (
                f'<workbook xmlns="{_NS}/spreadsheetml/2006/main" xmlns:r="{rel}">'
                '<bookViews><workbookView activeTab="0"/></bookViews>'
                "<sheets>"
                + "".join(
                    f'<sheet name="{attribute(t)}" sheetId="{i}" r:id="rId{i}"/>'
                    for i, t in enumerate(self.titles, start=1)
                )
                + "</sheets></workbook>"
            ),
            "xl/_rels/workbook.xml.rels": (
                f'<Relationships xmlns="{_NS}/package/2006/relationships">'
                + "".join(
                    f'<Relationship Id="rId{i}" Type="{rel}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                    for i in range(1, len(self.titles) + 1)
                )
                + f'<Relationship Id="rId{len(self.titles) + 1}" Type="{rel}/styles" Target="styles.xml"/>'
                "</Relationships>"
            ),
            "xl/styles.xml": self._styles_xml(),
        }

    def _styles_xml(self) -> str:
        fills = ['<patternFill patternType="none"/>', '<patternFill patternType="gray125"/>']
        formats: dict[str, int] = {}
        xfs = []
        for style, quoted in self._styles:  # insertion order: the index of each style
            fmt = style.number_format or "General"
            fmt_id = _BUILT_IN_FORMATS.get(fmt) or formats.setdefault(fmt, 164 + len(formats))
            fill_id = 0
            if style.fill:
                fill = f'<patternFill patternType="solid"><fgColor rgb="FF{style.fill}"/></patternFill>'
                if fill not in fills:
                    fills.append(fill)
                fill_id = fills.index(fill)
            align = '<alignment horizontal="center" vertical="center" wrapText="1"/>' if style.centred else ""
            xfs.append(
                f'<xf numFmtId="{fmt_id}" fontId="{list(_FONTS).index(style.font)}" fillId="{fill_id}" '
                f'borderId="{list(_BORDERS).index(style.border)}" xfId="0" applyNumberFormat="1" '
                f'applyFont="1" applyFill="1" applyBorder="1" applyAlignment="1"'
                f"{_QUOTE_PREFIX if quoted else ''}>{align}</xf>"
            )
        num_fmts = "".join(
            f'<numFmt numFmtId="{i}" formatCode="{attribute(code)}"/>' for code, i in formats.items()
        )
        fonts = "".join(f'<font>{f}<name val="Calibri"/><family val="2"/></font>' for f in _FONTS.values())
        return (
            f'<styleSheet xmlns="{_NS}/spreadsheetml/2006/main">'
            + (f'<numFmts count="{len(formats)}">{num_fmts}</numFmts>' if formats else "")
            + f'<fonts count="{len(_FONTS)}">{fonts}</fonts>'
            + f'<fills count="{len(fills)}">{"".join(f"<fill>{f}</fill>" for f in fills)}</fills>'
            + f'<borders count="{len(_BORDERS)}">{"".join(f"<border>{b}</border>" for b in _BORDERS.values())}</borders>'
            + '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            + f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
            + '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            + "</styleSheet>"
        )


__all__ = ["PLAIN", "Style", "XlsxStream", "attribute", "column_letter", "escape", "serial"]
