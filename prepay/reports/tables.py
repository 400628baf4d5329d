"""django-tables2 tables built from a report's columns: sortable, formatted, totals in the footer."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django_tables2.data import TableData

from prepay.reports.base import NUMERIC, Col, ReportData, format_value
from prepay.reports.sales_pages import SalesRows


class ValueColumn(tables.Column):
    """A column that formats its cell (money 2 places, energy 3, rates as percent) by ``kind``."""

    def __init__(self, col: Col, footer: Any = None, **kwargs: Any) -> None:
        self.kind = col.kind
        attrs = (
            {"td": {"class": "num"}, "th": {"class": "num"}, "tf": {"class": "num"}}
            if col.kind in NUMERIC
            else {}
        )
        super().__init__(
            verbose_name=col.header,
            accessor=col.key,
            orderable=col.orderable,
            attrs=attrs,
            footer=footer,
            default="—" if col.kind in NUMERIC else "",
            **kwargs,
        )

    def render(self, value: Any) -> str:
        return format_value(value, self.kind)


def table_for(report: ReportData) -> type[tables.Table]:
    """A Table class for ``report``; the footer shows ``report.totals`` under each column."""
    attrs: dict[str, Any] = {}
    totals = report.totals
    for i, col in enumerate(report.columns):
        footer: Any = None
        if totals is not None:
            footer = format_value(totals.get(col.key), col.kind) if col.key in totals else ""
            if i == 0:
                from django.utils.translation import gettext_lazy as _

                footer = _("Total")
        attrs[col.key] = ValueColumn(col, footer=footer)

    class Meta:
        attrs = {"class": "table report-table", "id": f"report-{report.slug}"}
        orderable = True
        sequence = [c.key for c in report.columns]

    attrs["Meta"] = Meta
    return type(f"{report.slug.title()}Table", (tables.Table,), attrs)


class DatabaseSortedData(TableData):
    """Rows that count, sort and page themselves in the database (:class:`SalesRows`): the table
    asks for one page and never reads the others."""

    data: SalesRows

    def __len__(self) -> int:
        return len(self.data)

    def order_by(self, aliases: Any) -> None:
        self.data = self.data.ordered([str(a) for a in aliases])


def table_rows(report: ReportData) -> Any:
    """What a report's table is built on: its rows, or for rows kept in the database a wrapper that
    lets the database sort and page them."""
    if isinstance(report.rows, SalesRows):
        return DatabaseSortedData(report.rows)
    return report.rows
