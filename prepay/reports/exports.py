"""Excel and PDF (WeasyPrint + matplotlib SVG) renderings of a :class:`ReportData`.

Excel contract: written row by row by :class:`prepay.common.xlsx_stream.XlsxStream` (constant
memory, any number of rows). Row 1 the title, row 2 the period and filters, row 4 the column headers
(in the active language), data from row 5, then one totals row whose first cell reads the translated
"Total" and whose numeric cells hold real values (computed exactly in Python, not formulas, so any
reader — openpyxl included — sees the sums). Money cells use ``#,##0.00``, energy ``#,##0.000``,
rates ``0.00%``; the header row is frozen and columns are sized to their content. A report longer
than a sheet may be (Excel's 1,048,576 rows) goes on in further sheets (``Sales detail (2)`` …),
each with the same heading rows; the totals row ends the last. Every cell is written under the rules
of :mod:`prepay.common.spreadsheet`: text a person typed (a customer named ``=1+1``) is a string
cell, never a formula, while amounts and energy stay numbers.
"""

from __future__ import annotations

import base64
import io
import itertools
from collections.abc import Callable, Iterator
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from prepay.common.xlsx_stream import PLAIN, Style, XlsxStream, column_letter
from prepay.reports.base import NUMERIC, ReportData, format_value

HEADER_ROW = 4
FORMATS = {
    "money": "#,##0.00",
    "energy": "#,##0.000",
    "rate": "0.00%",
    "int": "0",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm:ss",
}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_TYPE = "application/pdf"
FONT_FAMILY = "WenQuanYi Micro Hei"
FONT_FILE = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _cell_value(value: Any, kind: str) -> Any:
    """The value written to a cell: None for blanks; Decimals as they are (openpyxl writes them as
    numbers without going through float on the way in)."""
    if value is None or value == "":
        return None
    return value


def download_name(filename: str) -> str:
    """``prepay-<name>-<local time>-<language>.<ext>`` for a report file named ``<name>.<ext>``."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    lang = "zh" if (get_language() or "").startswith("zh") else "en"
    return f"prepay-{filename.replace('.', f'-{stamp}-{lang}.')}"


#: the narrowest a column of each kind is (a datetime "YYYY-MM-DD hh:mm:ss" needs 19)
MIN_WIDTH = {"datetime": 19, "date": 10, "money": 12, "energy": 12, "rate": 9, "int": 6}
#: rows read ahead to size the columns before the first row is written
SIZING_ROWS = 200
#: rows between two progress reports
PROGRESS_EVERY = 2000


def render_xlsx(report: ReportData) -> bytes:
    """The report as an ``.xlsx`` file in memory (a download answered in the request)."""
    out = io.BytesIO()
    write_xlsx(report, out)
    return out.getvalue()


#: how the title, the filters line, the column headers and the totals row look
TITLE = Style(font="title")
HEADER = Style(font="bold", fill="DDE7E3", border="bottom", centred=True)


def write_xlsx(report: ReportData, out: Any, progress: Callable[[int], None] | None = None) -> int:
    """Write the report as ``.xlsx`` to ``out`` (a path or a binary file) row by row, holding no more
    than :data:`SIZING_ROWS` rows at a time, and return the number of rows. ``progress(rows)`` is
    called every :data:`PROGRESS_EVERY` rows. Columns are sized to the header and the first rows."""
    columns = list(report.columns)
    rows = iter(report.rows)
    first = list(itertools.islice(rows, SIZING_ROWS))
    with XlsxStream(out, str(report.title)) as sheet:
        sheet.widths = [_column_width(col, first) for col in columns]
        sheet.frozen_rows = HEADER_ROW
        _heading(sheet, report)
        keys = [col.key for col in columns]
        styles = [sheet.style_ids(Style(number_format=FORMATS.get(col.kind))) for col in columns]
        letters = [column_letter(i) for i in range(1, len(columns) + 1)]
        written = 0
        for chunk in _chunks(itertools.chain(first, rows), PROGRESS_EVERY):
            for row in chunk:
                if sheet.rows_left <= 1:  # a full sheet (Excel's limit) keeps a row for the totals
                    sheet.next_sheet()
                    _heading(sheet, report)
                sheet.values([row.get(k) for k in keys], styles, letters)
            written += len(chunk)
            if progress is not None and len(chunk) == PROGRESS_EVERY:
                progress(written)
        if report.totals is not None:
            sheet.row(_totals(report))
    if progress is not None:
        progress(written)
    return written


def _heading(sheet: XlsxStream, report: ReportData) -> None:
    """The title, the filters, a blank row and the column headers (rows 1 to :data:`HEADER_ROW`)."""
    sheet.row([(str(report.title), TITLE)])
    sheet.row([(report.subtitle, PLAIN)])
    sheet.row([])
    sheet.row([(str(col.header), HEADER) for col in report.columns])


def _column_width(col: Any, first: list[dict[str, Any]]) -> int:
    width = max(
        [_width(str(col.header)), MIN_WIDTH.get(col.kind, 4)]
        + [_width(format_value(row.get(col.key), col.kind)) for row in first]
    )
    return min(max(width + 2, 6), 60)


def _chunks(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    while chunk := list(itertools.islice(rows, size)):
        yield chunk


def _totals(report: ReportData) -> list[tuple[Any, Style]]:
    """The totals row: "Total" in the first column, the report's totals under their columns."""
    totals = report.totals or {}
    return [
        (
            _("Total") if i == 0 else _cell_value(totals.get(col.key), col.kind),
            Style(font="bold", border="top", number_format=FORMATS.get(col.kind) if i else None),
        )
        for i, col in enumerate(report.columns)
    ]


def chart_svg(report: ReportData) -> str | None:
    """The report's chart drawn by matplotlib as SVG (text as paths, so no font is needed to show it)."""
    chart = report.chart
    if chart is None or not chart.categories or not chart.series:
        return None
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import font_manager
    from matplotlib.figure import Figure

    try:
        font_manager.fontManager.addfont(FONT_FILE)
        family = [FONT_FAMILY, "DejaVu Sans"]
    except (OSError, RuntimeError):  # font missing: Latin text still renders
        family = ["DejaVu Sans"]
    # Labels are names people typed (sites, units, meters): "$…$" in one must stay text, not mathtext.
    with matplotlib.rc_context(
        {"font.family": family, "svg.fonttype": "path", "axes.unicode_minus": False, "text.parse_math": False}
    ):
        fig = Figure(figsize=(9, 2.6))
        ax = fig.add_subplot()
        n = len(chart.series)
        width = 0.8 / n
        xs = range(len(chart.categories))
        for i, (name, values) in enumerate(chart.series):
            ax.bar(
                [x - 0.4 + width * (i + 0.5) for x in xs],
                [float(v) for v in values],  # drawing only; figures in tables stay exact
                width=width,
                label=name,
            )
        ax.set_xticks(list(xs))
        ax.set_xticklabels(chart.categories, fontsize=8)
        ax.set_title(str(chart.title), fontsize=10)
        if chart.unit:
            ax.set_ylabel(chart.unit, fontsize=8)
        if n > 1:
            ax.legend(fontsize=7)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        buf = io.StringIO()
        fig.savefig(buf, format="svg")
    return buf.getvalue()


def render_pdf(report: ReportData) -> bytes:
    """A4 landscape PDF of the report's table (and chart), in the active language, CJK font embedded."""
    from weasyprint import HTML

    svg = chart_svg(report)
    header = [(c, c.kind in NUMERIC) for c in report.columns]
    rows = [[(format_value(row.get(c.key), c.kind), num) for c, num in header] for row in report.rows]
    totals = None
    if report.totals is not None:
        totals = [
            (format_value(report.totals.get(c.key), c.kind) if i else _("Total"), num)
            for i, (c, num) in enumerate(header)
        ]
    html = render_to_string(
        "reports/pdf.html",
        {
            "report": report,
            "header": header,
            "rows": rows,
            "totals": totals,
            "chart": (
                "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
                if svg
                else None
            ),
            "font_family": FONT_FAMILY,
            "generated_at": timezone.localtime(),
        },
    )
    return HTML(string=html).write_pdf()  # type: ignore[no-any-return]
