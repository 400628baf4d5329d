"""The reconciliation sheet as Excel (through :mod:`prepay.common.spreadsheet`) and as PDF (WeasyPrint).

Excel: row 1 the title, row 2 the site, period and sign-off; then the sections, each with a bold
heading, its column headers and its rows: takings per payment method (the lines, then "Takings to hand
over"), handed over and the difference; the handovers one by one; what is not in the takings. Money is
a number with ``#,##0.00``, in the language of the request.
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from prepay.common.spreadsheet import new_workbook, workbook_bytes, write_cell
from prepay.reports.exports import FONT_FAMILY
from prepay.reports.reconciliation import METHODS, Line, Sheet
from prepay.vending.models import PaymentMethod

MONEY = "#,##0.00"


def title(sheet: Sheet) -> str:
    return _("Reconciliation sheet")


def subtitle(sheet: Sheet) -> str:
    """Site, period and the sign-off (or "not signed off"), in the active language."""
    bits = [
        _("Site: %(site)s") % {"site": sheet.site.name},
        _("Period: %(start)s to %(end)s")
        % {"start": sheet.period.start.isoformat(), "end": sheet.period.end.isoformat()},
    ]
    s = sheet.sign_off
    if s is not None:
        bits.append(
            _("Signed off by %(who)s at %(when)s")
            % {
                "who": s.signed_by.get_full_name() or s.signed_by.get_username(),
                "when": timezone.localtime(s.signed_at).strftime("%Y-%m-%d %H:%M"),
            }
        )
    else:
        bits.append(_("Not signed off"))
    return " · ".join(bits)


def method_headers() -> list[str]:
    labels = dict(PaymentMethod.choices)
    return [str(labels[m]) for m in METHODS] + [_("Total")]


def line_cells(line: Line) -> list[Any]:
    return [str(line.label), *(line.values[m] for m in METHODS), line.total]


def handover_rows(sheet: Sheet) -> list[list[Any]]:
    labels = dict(PaymentMethod.choices)
    return [
        [
            h.deposited_on,
            str(labels.get(h.method, h.method)),
            h.amount,
            h.reference,
            h.handed_over_by,
            h.recorded_by.get_full_name() or h.recorded_by.get_username(),
            timezone.localtime(h.recorded_at).replace(tzinfo=None, microsecond=0),
            h.note,
        ]
        for h in sheet.handovers
    ]


def handover_headers() -> list[str]:
    return [
        _("Deposited on"),
        _("Payment method"),
        _("Amount"),
        _("Bank reference"),
        _("Handed over by"),
        _("Recorded by"),
        _("Recorded at"),
        _("Note"),
    ]


def _table(
    ws: Any, row: int, heading: str, headers: list[str], rows: list[list[Any]], bold_last: bool = False
) -> int:
    write_cell(ws, row, 1, heading).font = Font(bold=True, size=12)
    row += 1
    for c, text in enumerate(headers, start=1):
        write_cell(ws, row, c, text).font = Font(bold=True)
    for i, values in enumerate(rows):
        row += 1
        for c, value in enumerate(values, start=1):
            cell = write_cell(ws, row, c, value)
            if hasattr(value, "as_tuple"):  # Decimal money
                cell.number_format = MONEY
            if bold_last and i == len(rows) - 1:
                cell.font = Font(bold=True)
    return row + 2


def render_sheet_xlsx(sheet: Sheet) -> bytes:
    wb, ws = new_workbook(title(sheet))
    write_cell(ws, 1, 1, title(sheet)).font = Font(bold=True, size=14)
    write_cell(ws, 2, 1, subtitle(sheet))
    heads = ["", *method_headers()]
    summary = [line_cells(x) for x in sheet.lines] + [line_cells(sheet.takings)]
    row = _table(ws, 4, _("Takings by payment method"), heads, summary, bold_last=True)
    row = _table(
        ws,
        row,
        _("Handed over and difference"),
        heads,
        [line_cells(sheet.handed), line_cells(sheet.difference)],
    )
    row = _table(ws, row, _("Handovers (上缴)"), handover_headers(), handover_rows(sheet))
    _table(ws, row, _("Not in the takings (for information)"), heads, [line_cells(x) for x in sheet.info])
    ws.column_dimensions[get_column_letter(1)].width = 48
    for c in range(2, 10):
        ws.column_dimensions[get_column_letter(c)].width = 16
    wb.properties.title = title(sheet)
    wb.properties.creator = "Prepay"
    return workbook_bytes(wb)


def render_sheet_pdf(sheet: Sheet) -> bytes:
    """A4 portrait PDF of the sheet in the active language (CJK font embedded), with signature lines."""
    from weasyprint import HTML

    html = render_to_string(
        "reports/reconciliation_pdf.html",
        {
            "sheet": sheet,
            "title": title(sheet),
            "subtitle": subtitle(sheet),
            "heads": method_headers(),
            "lines": [line_cells(x) for x in sheet.lines],
            "takings": line_cells(sheet.takings),
            "handed_and_difference": [line_cells(sheet.handed), line_cells(sheet.difference)],
            "info": [line_cells(x) for x in sheet.info],
            "handover_headers": handover_headers(),
            "handovers": handover_rows(sheet),
            "font_family": FONT_FAMILY,
            "generated_at": timezone.localtime(),
        },
    )
    return HTML(string=html).write_pdf()  # type: ignore[no-any-return]
