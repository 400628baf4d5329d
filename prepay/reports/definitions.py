"""The reports: for each, its filters, defaults and how its :class:`ReportData` is built.

A definition never decides who may see what: the queries it calls scope every row to the user
(``reports.view``); the view refuses users who hold the capability nowhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import django_filters as df
from django.db.models import QuerySet
from django.utils.formats import date_format
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from prepay.domain.reporting import Period, month_period, parse_month, ten_day_period
from prepay.reports import queries as q
from prepay.reports.base import Chart, Col, ReportData
from prepay.reports.filtersets import MonthFilter, SalesDetailFilter, SiteFilter, SitePeriodFilter
from prepay.vending.models import PaymentMethod


@dataclass(frozen=True)
class Definition:
    slug: str
    title: Any
    description: Any
    filterset: type[df.FilterSet]
    defaults: Callable[[date], dict[str, str]]
    build: Callable[[Any, df.FilterSet], ReportData]
    queryset: Callable[[Any], QuerySet[Any]]


def _period_text(period: Period) -> str:
    return _g("Period: %(start)s to %(end)s") % {
        "start": date_format(period.start, "Y-m-d"),
        "end": date_format(period.end, "Y-m-d"),
    }


def _filters_text(fs: df.FilterSet, skip: tuple[str, ...] = ("date_from", "date_to", "month")) -> str:
    """ "Site: A1 · Operator: li" for the filters that are set, in the active language."""
    parts = []
    for name, value in fs.form.cleaned_data.items():
        if name in skip or value in (None, ""):
            continue
        field = fs.form.fields[name]
        shown = (
            dict(field.choices).get(value, value)
            if hasattr(field, "choices") and not hasattr(value, "pk")
            else value
        )
        parts.append(f"{field.label}: {shown}")
    return " · ".join(parts)


def _subtitle(period: Period | None, fs: df.FilterSet) -> str:
    bits = [_period_text(period)] if period else []
    if extra := _filters_text(fs):
        bits.append(extra)
    return " · ".join(bits)


# ---------------------------------------------------------------- sales detail


SALES_COLUMNS = [
    Col("time", _("Time"), "datetime"),
    Col("receipt", _("Receipt number")),
    Col("site", _("Site")),
    Col("point", _("Vending point")),
    Col("operator", _("Operator")),
    Col("account", _("Account number")),
    Col("customer", _("Customer")),
    Col("meter", _("Meter")),
    Col("method", _("Payment method")),
    Col("amount", _("Amount paid"), "money"),
    Col("arrears", _("Arrears recovered"), "money"),
    Col("credit", _("Credit amount"), "money"),
    Col("energy", _("Energy (kWh / m³)"), "energy"),
    Col("status", _("Status")),
]


def sales_defaults(today: date) -> dict[str, str]:
    p = ten_day_period(today)
    return {"date_from": p.start.isoformat(), "date_to": p.end.isoformat()}


def build_sales(user: Any, fs: df.FilterSet) -> ReportData:
    data = fs.form.cleaned_data
    period = Period(data["date_from"], data["date_to"])
    rows = q.sales_rows(fs.qs)
    totals: dict[str, Any] = dict(q.sum_rows(rows, ("amount", "arrears", "credit", "energy")))
    totals["receipt"] = _g("%(count)d vends") % {"count": len(rows)}
    by_method: dict[str, Decimal] = {}
    for r in rows:
        by_method[r["method"]] = by_method.get(r["method"], Decimal(0)) + r["amount"]
    chart = Chart(
        _("Money by payment method"),
        list(by_method),
        [(_g("Amount paid"), list(by_method.values()))],
        unit="¥",
    )
    return ReportData("sales", _("Sales detail"), _subtitle(period, fs), SALES_COLUMNS, rows, totals, chart)


# ---------------------------------------------------------------- monthly allocation


def allocation_columns() -> list[Col]:
    return [
        Col("site", _("Site")),
        Col("ctype", _("Customer type")),
        Col("vends", _("Vends"), "int"),
        Col("energy", _("Energy sold (kWh / m³)"), "energy"),
        Col("amount", _("Money collected"), "money"),
        Col("arrears", _("Arrears recovered"), "money"),
        Col("credit", _("Credit amount"), "money"),
        *[Col(f"m_{value}", label, "money") for value, label in PaymentMethod.choices],
    ]


def month_defaults(today: date) -> dict[str, str]:
    return {"month": today.strftime("%Y-%m")}


def build_allocation(user: Any, fs: df.FilterSet) -> ReportData:
    period = month_period(parse_month(fs.form.cleaned_data["month"]))
    rows = q.allocation_rows(user, period, fs.qs)
    columns = allocation_columns()
    keys = [c.key for c in columns if c.kind in ("money", "energy", "int")]
    totals: dict[str, Any] = dict(q.sum_rows(rows, keys))
    totals["vends"] = int(totals["vends"])
    sites: dict[str, list[Decimal]] = {}
    for r in rows:
        pair = sites.setdefault(r["site"], [Decimal(0), Decimal(0)])
        pair[0] += r["amount"]
        pair[1] += r["energy"]
    chart = Chart(
        _("Money collected by site"),
        list(sites),
        [(_g("Money collected"), [v[0] for v in sites.values()])],
        "¥",
    )
    return ReportData(
        "allocation",
        _("Monthly energy and money allocation"),
        _subtitle(period, fs),
        columns,
        rows,
        totals,
        chart,
    )


# ---------------------------------------------------------------- recovery rate


RECOVERY_COLUMNS = [
    Col("site", _("Site")),
    Col("collected", _("Money collected"), "money"),
    Col("due", _("Money due for energy and fees"), "money"),
    Col("rate", _("Recovery rate"), "rate", orderable=False),
]


def period_month_defaults(today: date) -> dict[str, str]:
    p = month_period(today)
    return {"date_from": p.start.isoformat(), "date_to": today.isoformat()}


def build_recovery(user: Any, fs: df.FilterSet) -> ReportData:
    data = fs.form.cleaned_data
    period = Period(data["date_from"], data["date_to"])
    rows = q.recovery_rows(user, period, fs.qs)
    sums = q.sum_rows(rows, ("collected", "due"))
    totals: dict[str, Any] = {**sums, "rate": q.Recovery(sums["collected"], sums["due"]).rate}
    chart = Chart(
        _("Money collected and due by site"),
        [r["site"] for r in rows],
        [
            (_g("Money collected"), [r["collected"] for r in rows]),
            (_g("Money due"), [r["due"] for r in rows]),
        ],
        "¥",
    )
    notes = [
        _(
            "Recovery rate = money collected ÷ money due. Collected: payments less money paid back. "
            "Due: credit loaded onto meters by vends, consumption charges and fees, less reversals and "
            "credit returned, from the customer ledger. 0 due shows as —."
        )
    ]
    return ReportData(
        "recovery", _("Recovery rate"), _subtitle(period, fs), RECOVERY_COLUMNS, rows, totals, chart, notes
    )


# ---------------------------------------------------------------- arrears


ARREARS_COLUMNS = [
    Col("site", _("Site")),
    Col("account", _("Account number")),
    Col("customer", _("Customer")),
    Col("phone", _("Phone")),
    Col("unit", _("Unit")),
    Col("balance", _("Balance"), "money"),
    Col("since", _("In arrears since"), "date"),
    Col("days", _("Days in arrears"), "int"),
    Col("bucket", _("Ageing (days)")),
]


def no_defaults(today: date) -> dict[str, str]:
    return {}


def build_arrears(user: Any, fs: df.FilterSet) -> ReportData:
    today = q.local_today()
    rows = q.arrears_rows(user, fs.qs, as_of=today)
    totals: dict[str, Any] = {"balance": sum((r["balance"] for r in rows), Decimal("0.00"))}
    totals["account"] = _g("%(count)d accounts") % {"count": len(rows)}
    buckets: dict[str, Decimal] = {}
    for r in rows:
        buckets[r["bucket"]] = buckets.get(r["bucket"], Decimal(0)) - r["balance"]
    chart = Chart(_("Arrears by age (days)"), list(buckets), [(_g("Arrears"), list(buckets.values()))], "¥")
    subtitle = " · ".join(
        x for x in (_g("As of %(day)s") % {"day": today.isoformat()}, _filters_text(fs)) if x
    )
    return ReportData("arrears", _("Arrears"), subtitle, ARREARS_COLUMNS, rows, totals, chart)


def _vends(user: Any) -> QuerySet[Any]:
    return q.scoped_vends(user).select_related(None)


def _sites(user: Any) -> QuerySet[Any]:
    return q.scoped_sites(user)


REPORTS: dict[str, Definition] = {
    d.slug: d
    for d in (
        Definition(
            "sales",
            _("Sales detail"),
            _("Every vend in a period (the current ten-day period by default) by site, point and operator."),
            SalesDetailFilter,
            sales_defaults,
            build_sales,
            _vends,
        ),
        Definition(
            "allocation",
            _("Monthly energy and money allocation"),
            _("Energy sold and money collected per site and customer type for a month, by payment method."),
            MonthFilter,
            month_defaults,
            build_allocation,
            _sites,
        ),
        Definition(
            "recovery",
            _("Recovery rate"),
            _("Money collected against money due for energy and fees, per site."),
            SitePeriodFilter,
            period_month_defaults,
            build_recovery,
            _sites,
        ),
        Definition(
            "arrears",
            _("Arrears"),
            _("Accounts with a negative balance, how much and for how long."),
            SiteFilter,
            no_defaults,
            build_arrears,
            _sites,
        ),
    )
}

__all__ = ["REPORTS", "Definition"]
