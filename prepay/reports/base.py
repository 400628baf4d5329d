"""What a report is, independent of how it is shown: columns, rows, totals and an optional chart.

The screen (django-tables2), the Excel export and the PDF export all read the same ``ReportData``, so
the three can never disagree on a figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

Kind = Literal["text", "money", "energy", "int", "rate", "date", "datetime"]
NUMERIC: frozenset[str] = frozenset({"money", "energy", "int", "rate"})


@dataclass(frozen=True)
class Col:
    """A column: ``key`` into each row dict, a translatable ``header`` and a ``kind`` for formatting."""

    key: str
    header: Any  # a lazy translation string
    kind: Kind = "text"
    orderable: bool = True


@dataclass
class Chart:
    """A simple bar chart for the PDF (and the screen): categories × named series of Decimals."""

    title: Any
    categories: list[str]
    series: list[tuple[str, list[Decimal]]]
    unit: str = ""


@dataclass
class ReportData:
    slug: str
    title: Any
    subtitle: str
    columns: list[Col]
    rows: Sequence[dict[str, Any]]  # a list, or rows read from the database a page at a time
    totals: dict[str, Any] | None = None
    chart: Chart | None = None
    notes: list[Any] = field(default_factory=list)


def format_value(value: Any, kind: str) -> str:
    """Human text for a cell: money with 2 places and thousands separators, rates as percent."""
    if value is None or value == "":
        return "—" if kind in NUMERIC else ""
    if kind == "money":
        return f"{Decimal(value):,.2f}"
    if kind == "energy":
        return f"{Decimal(value):,.3f}"
    if kind == "rate":
        return f"{Decimal(value) * 100:.2f} %"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "datetime" and isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if kind == "date" and isinstance(value, date):
        return value.isoformat()
    return str(value)
