"""The energy analysis as Excel (one sheet per table, native Excel charts) and as PDF (the reports'
WeasyPrint page with matplotlib SVG charts). Every cell goes through ``prepay.common.spreadsheet``;
figures are numbers (energy ``#,##0.000``, shares and changes ``0.00%``), never formulas."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl.chart import BarChart, PieChart, Reference
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from prepay.analytics.energy import EnergyReport
from prepay.common.spreadsheet import new_workbook, workbook_bytes, write_cell, write_row
from prepay.reports.base import Chart, Col, ReportData, format_value
from prepay.reports.exports import FONT_FAMILY, chart_svg
from prepay.tenancy.models import Site

FORMATS = {"energy": "#,##0.000", "rate": "0.00%", "m2": "#,##0.00"}


def _period(report: EnergyReport) -> str:
    q = report.query
    return f"{q.start.isoformat()} – {q.end.isoformat()}"


def _table(ws: Worksheet, top: int, headers: list[str], rows: list[list[Any]], kinds: list[str]) -> int:
    """Headers on row ``top``, rows below, formats by kind; returns the last row written."""
    for cell in write_row(ws, top, headers):
        cell.font = Font(bold=True)
    r = top
    for row in rows:
        r += 1
        for c, (value, kind) in enumerate(zip(row, kinds, strict=True), start=1):
            cell = write_cell(ws, r, c, value)
            if kind in FORMATS:
                cell.number_format = FORMATS[kind]
    for c, h in enumerate(headers, start=1):
        ws.column_dimensions[ws.cell(row=top, column=c).column_letter].width = max(12, min(40, len(h) * 2))
    return r


def _items_sheet(ws: Worksheet, site: Site, report: EnergyReport) -> None:
    write_cell(ws, 1, 1, _("Energy by item — %(site)s") % {"site": site.name}).font = Font(bold=True, size=14)
    write_cell(ws, 2, 1, _period(report))
    headers = [
        _("Item"),
        _("Energy (kWh)"),
        _("Share"),
        _("Last year"),
        _("Year on year"),
        _("Previous period"),
        _("Period on period"),
    ]
    rows = [
        [i["item"], i["energy"], i["share"], i["last_year"], i["yoy"], i["previous"], i["mom"]]
        for i in report.items
    ]
    rows.append([_("Total"), report.total, None, None, report.total_yoy, None, report.total_mom])
    last = _table(ws, 4, headers, rows, ["text", "energy", "rate", "energy", "rate", "energy", "rate"])
    ws.freeze_panes = "A5"
    if len(report.items) and report.total:
        pie = PieChart()
        pie.title = _("Energy by item")
        pie.add_data(Reference(ws, min_col=2, min_row=4, max_row=last - 1), titles_from_data=True)
        pie.set_categories(Reference(ws, min_col=1, min_row=5, max_row=last - 1))
        ws.add_chart(pie, "I4")


def _series_sheet(ws: Worksheet, report: EnergyReport) -> None:
    write_cell(ws, 1, 1, _("Energy by item over time")).font = Font(bold=True, size=14)
    write_cell(ws, 2, 1, _period(report))
    headers = [_("Period")] + [name for name, _v in report.series]
    rows = [[b] + [values[i] for _n, values in report.series] for i, b in enumerate(report.buckets)]
    last = _table(ws, 4, headers, rows, ["text"] + ["energy"] * len(report.series))
    if report.series and report.buckets:
        bar = BarChart()
        bar.type, bar.grouping, bar.overlap = "col", "stacked", 100
        bar.title, bar.y_axis.title = _("Energy by item over time"), "kWh"
        bar.add_data(
            Reference(ws, min_col=2, max_col=1 + len(report.series), min_row=4, max_row=last),
            titles_from_data=True,
        )
        bar.set_categories(Reference(ws, min_col=1, min_row=5, max_row=last))
        bar.width, bar.height = 24, 10
        ws.add_chart(bar, f"{ws.cell(row=4, column=len(headers) + 2).column_letter}4")


def _plain_sheet(
    ws: Worksheet, title: str, headers: list[str], rows: list[list[Any]], kinds: list[str]
) -> None:
    write_cell(ws, 1, 1, title).font = Font(bold=True, size=14)
    _table(ws, 3, headers, rows, kinds)


def energy_xlsx(site: Site, report: EnergyReport) -> bytes:
    wb, ws = new_workbook(_("Items"))
    _items_sheet(ws, site, report)
    _series_sheet(wb.create_sheet(_("Over time")[:31]), report)
    _plain_sheet(
        wb.create_sheet(_("Areas")[:31]),
        _("Energy by area"),
        [_("Area"), _("Energy (kWh)"), _("Floor area (m²)"), _("kWh per m²"), _("Share")],
        [[a["area"], a["energy"], a["m2"], a["per_m2"], a["share"]] for a in report.areas],
        ["text", "energy", "m2", "energy", "rate"],
    )
    _plain_sheet(
        wb.create_sheet(_("Time of use")[:31]),
        _("Peak and valley shares"),
        [_("Period"), _("Energy (kWh)"), _("Share")],
        [[t["period"], t["energy"], t["share"]] for t in report.tou],
        ["text", "energy", "rate"],
    )
    _plain_sheet(
        wb.create_sheet(_("Top consumers")[:31]),
        _("Top consumers"),
        [_("Meter"), _("Account"), _("Item"), _("Energy (kWh)"), _("Share")],
        [[t["meter"], t["account"], t["item"], t["energy"], t["share"]] for t in report.top],
        ["text", "text", "text", "energy", "rate"],
    )
    wb.properties.title, wb.properties.creator = _("Energy analysis"), "Prepay"
    return workbook_bytes(wb)


def _svg(chart: Chart) -> str | None:
    svg = chart_svg(ReportData("energy", chart.title, "", [Col("x", "")], [], chart=chart))
    return (
        None
        if svg is None
        else "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
    )


def _fmt(rows: list[dict[str, Any]], cols: list[tuple[str, str]]) -> list[list[tuple[str, bool]]]:
    return [[(format_value(r.get(k), kind), kind != "text") for k, kind in cols] for r in rows]


def energy_pdf(site: Site, report: EnergyReport) -> bytes:
    """A4 landscape: the totals, the charts (items over time, areas) and every table."""
    from weasyprint import HTML

    over_time = _svg(Chart(_("Energy by item over time"), report.buckets, report.series, "kWh"))
    areas = report.areas[:20]
    by_area = _svg(
        Chart(
            _("Energy by area"),
            [a["area"] for a in areas],
            [(_("Energy (kWh)"), [a["energy"] for a in areas])],
            "kWh",
        )
    )
    sections = [
        (
            _("Energy by item"),
            [_("Item"), _("Energy (kWh)"), _("Share"), _("Year on year"), _("Period on period")],
            _fmt(
                report.items,
                [("item", "text"), ("energy", "energy"), ("share", "rate"), ("yoy", "rate"), ("mom", "rate")],
            ),
        ),
        (
            _("Energy by area"),
            [_("Area"), _("Energy (kWh)"), _("Floor area (m²)"), _("kWh per m²"), _("Share")],
            _fmt(
                report.areas,
                [
                    ("area", "text"),
                    ("energy", "energy"),
                    ("m2", "energy"),
                    ("per_m2", "energy"),
                    ("share", "rate"),
                ],
            ),
        ),
        (
            _("Peak and valley shares"),
            [_("Period"), _("Energy (kWh)"), _("Share")],
            _fmt(report.tou, [("period", "text"), ("energy", "energy"), ("share", "rate")]),
        ),
        (
            _("Top consumers"),
            [_("Meter"), _("Account"), _("Item"), _("Energy (kWh)"), _("Share")],
            _fmt(
                report.top,
                [
                    ("meter", "text"),
                    ("account", "text"),
                    ("item", "text"),
                    ("energy", "energy"),
                    ("share", "rate"),
                ],
            ),
        ),
    ]
    html = render_to_string(
        "analytics/energy_pdf.html",
        {
            "site": site,
            "report": report,
            "period": _period(report),
            "total": format_value(report.total, "energy"),
            "yoy": format_value(report.total_yoy, "rate"),
            "mom": format_value(report.total_mom, "rate"),
            "per_m2": format_value(report.per_m2, "energy"),
            "charts": [c for c in (over_time, by_area) if c],
            "sections": sections,
            "font_family": FONT_FAMILY,
            "generated_at": timezone.localtime(),
        },
    )
    return HTML(string=html).write_pdf()  # type: ignore[no-any-return]


__all__ = ["Decimal", "energy_pdf", "energy_xlsx"]
