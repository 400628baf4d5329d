"""Excel (openpyxl) and PDF (WeasyPrint + matplotlib SVG) renderings of a :class:`ReportData`.

Excel contract: row 1 the title, row 2 the period and filters, row 4 the column headers (in the
active language), data from row 5, then one totals row whose first cell reads the translated
"Total" and whose numeric cells hold real values (computed exactly in Python, not formulas, so any
reader — openpyxl included — sees the sums). Money cells use ``#,##0.00``, energy ``#,##0.000``,
rates ``0.00%``; the header row is frozen and columns are sized to their content. Every cell is
written through :mod:`prepay.common.spreadsheet`: text a person typed (a customer named ``=1+1``) is
a string cell, never a formula, while amounts and energy stay numbers.
"""

from __future__ import annotations

import base64
import io
import itertools
from collections.abc import Callable
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from prepay.common.spreadsheet import new_streaming_workbook, save_streaming, stream_cell, stream_row
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


def write_xlsx(report: ReportData, out: Any, progress: Callable[[int], None] | None = None) -> int:
    """Write the report as ``.xlsx`` to ``out`` (a path or a binary file) row by row, holding no more
    than :data:`SIZING_ROWS` rows at a time, and return the number of rows. ``progress(rows)`` is
    called every :data:`PROGRESS_EVERY` rows. Columns are sized to the header and the first rows."""
    wb, ws = new_streaming_workbook(str(report.title))
    rows = iter(report.rows)
    first = list(itertools.islice(rows, SIZING_ROWS))
    for i, col in enumerate(report.columns, start=1):
        width = max(
            [_width(str(col.header)), MIN_WIDTH.get(col.kind, 4)]
            + [_width(format_value(row.get(col.key), col.kind)) for row in first]
        )
        ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 6), 60)
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    ws.sheet_view.zoomScale = 100
    title = stream_cell(ws, str(report.title))
    title.font = Font(bold=True, size=14)
    stream_row(ws, [title])
    stream_row(ws, [stream_cell(ws, report.subtitle)])
    stream_row(ws, [])
    stream_row(ws, [_header_cell(ws, col.header) for col in report.columns])
    written = 0
    for row in itertools.chain(first, rows):
        stream_row(ws, [_value_cell(ws, row.get(col.key), col.kind) for col in report.columns])
        written += 1
        if progress is not None and written % PROGRESS_EVERY == 0:
            progress(written)
    if report.totals is not None:
        stream_row(ws, _totals(ws, report))
    wb.properties.title = str(report.title)
    wb.properties.creator = "Prepay"
    save_streaming(wb, out)
    if progress is not None:
        progress(written)
    return written


def _header_cell(ws: Any, header: Any) -> Any:
    cell = stream_cell(ws, str(header))
    cell.font = Font(bold=True)
    cell.fill = PatternFill("solid", fgColor="DDE7E3")
    cell.border = Border(bottom=Side(style="thin", color="999999"))
    cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    return cell


def _value_cell(ws: Any, value: Any, kind: str) -> Any:
    cell = stream_cell(ws, _cell_value(value, kind))
    if kind in FORMATS:
        cell.number_format = FORMATS[kind]
    return cell


def _totals(ws: Any, report: ReportData) -> list[Any]:
    """The totals row: "Total" in the first column, the report's totals under their columns."""
    totals = report.totals or {}
    cells = []
    for i, col in enumerate(report.columns):
        value: Any = _("Total") if i == 0 else _cell_value(totals.get(col.key), col.kind)
        cell = stream_cell(ws, value)
        cell.font = Font(bold=True)
        cell.border = Border(top=Side(style="thin", color="999999"))
        if i > 0 and col.kind in FORMATS:
            cell.number_format = FORMATS[col.kind]
        cells.append(cell)
    return cells


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
