"""The reports: for each, its filters, defaults and how its :class:`ReportData` is built.

A definition never decides who may see what: the queries it calls scope every row to the user
(``reports.view``); the view refuses users who hold the capability nowhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import django_filters as df
from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from prepay.domain.reporting import Period, month_period, parse_month, ten_day_period
from prepay.reports import queries as q
from prepay.reports import reversals as reversal_report
from prepay.reports import sales
from prepay.reports.base import Chart, Col, ReportData
from prepay.reports.filtersets import (
    MonthFilter,
    ReversalsFilter,
    SalesDetailFilter,
    SiteFilter,
    SitePeriodFilter,
)
from prepay.reports.sales_pages import SalesRows
from prepay.reports.subtitles import filters_text, subtitle
from prepay.vending.models import PaymentMethod, Reversal


@dataclass(frozen=True)
class Definition:
    slug: str
    title: Any
    description: Any
    filterset: type[df.FilterSet]
    defaults: Callable[[date], dict[str, str]]
    build: Callable[[Any, df.FilterSet], ReportData]
    queryset: Callable[[Any], QuerySet[Any]]


# ---------------------------------------------------------------- sales detail


SALES_COLUMNS = [
    Col("time", _("Time"), "datetime"),
    Col("entry", _("Entry")),
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
    """Every sale of the period and, unless a status is chosen, every reversal approved in it as a
    negative row (prepay/reports/sales.py): the totals are the money and energy sold net, the same
    figures as the allocation, the dashboard and the ledger. With a status, only the sales in that
    status are listed and totalled. The rows stay in the database until a page or a download reads
    them (:class:`SalesRows`); the totals and the chart are aggregates."""
    data = fs.form.cleaned_data
    period = Period(data["date_from"], data["date_to"])
    reversals = None
    if not data.get("status"):
        chosen = sales.reversal_filter(
            data.get("site"), data.get("point"), data.get("operator"), data.get("method")
        )
        reversals = sales.reversals_in(user, period).filter(chosen)
    net = sales.net_sales(fs.qs, reversals if reversals is not None else Reversal.objects.none(), ())
    total = net.get((), sales.blank())
    totals: dict[str, Any] = {k: total[k] for k in ("amount", "arrears", "credit", "energy")}
    totals["receipt"] = gettext("Sales: %(sales)d · reversals: %(reversals)d") % {
        "sales": total["vends"],
        "reversals": total["reversed"],
    }
    used = [m for m in PaymentMethod if total[f"m_{m}"]]
    chart = Chart(
        _("Money by payment method"),
        [str(m.label) for m in used],
        [(gettext("Amount paid"), [total[f"m_{m}"] for m in used])],
        unit="¥",
    )
    notes = [
        _(
            "A sale counts in the period it was made; a reversal counts, negatively, in the period it "
            "was approved (a void at the counter, a refund paid by finance, or an agent's float credited). "
            "The totals are the money and energy sold net, as in the allocation, the dashboard and the "
            "ledger."
        )
    ]
    rows = SalesRows(fs.qs, reversals)
    return ReportData(
        "sales", _("Sales detail"), subtitle(period, fs), SALES_COLUMNS, rows, totals, chart, notes
    )


# ---------------------------------------------------------------- monthly allocation


def allocation_columns() -> list[Col]:
    return [
        Col("site", _("Site")),
        Col("ctype", _("Customer type")),
        Col("vends", _("Vends"), "int"),
        Col("reversed", _("Reversals"), "int"),
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
    totals["reversed"] = int(totals["reversed"])
    sites: dict[str, list[Decimal]] = {}
    for r in rows:
        pair = sites.setdefault(r["site"], [Decimal(0), Decimal(0)])
        pair[0] += r["amount"]
        pair[1] += r["energy"]
    chart = Chart(
        _("Money collected by site"),
        list(sites),
        [(gettext("Money collected"), [v[0] for v in sites.values()])],
        "¥",
    )
    return ReportData(
        "allocation",
        _("Monthly energy and money allocation"),
        subtitle(period, fs),
        columns,
        rows,
        totals,
        chart,
        [
            _(
                "Net of reversals: sales made in the month less reversals approved in it, by the "
                "reversed sale's site, customer type and payment method."
            )
        ],
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
            (gettext("Money collected"), [r["collected"] for r in rows]),
            (gettext("Money due"), [r["due"] for r in rows]),
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
        "recovery", _("Recovery rate"), subtitle(period, fs), RECOVERY_COLUMNS, rows, totals, chart, notes
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
    totals["account"] = gettext("%(count)d accounts") % {"count": len(rows)}
    buckets: dict[str, Decimal] = {}
    for r in rows:
        buckets[r["bucket"]] = buckets.get(r["bucket"], Decimal(0)) - r["balance"]
    chart = Chart(
        _("Arrears by age (days)"), list(buckets), [(gettext("Arrears"), list(buckets.values()))], "¥"
    )
    subtitle = " · ".join(
        x for x in (gettext("As of %(day)s") % {"day": today.isoformat()}, filters_text(fs)) if x
    )
    return ReportData("arrears", _("Arrears"), subtitle, ARREARS_COLUMNS, rows, totals, chart)


# ---------------------------------------------------------------- line loss and apportionment (billing)


LINE_LOSS_COLUMNS = [
    Col("site", _("Site")),
    Col("meter", _("Master meter")),
    Col("level", _("Level"), "int"),
    Col("subs", _("Sub-meters")),
    Col("master_energy", _("Master energy (kWh)"), "energy"),
    Col("sub_energy", _("Sub-meters energy (kWh)"), "energy"),
    Col("loss", _("Line loss (kWh)"), "energy"),
    Col("loss_rate", _("Line loss %"), "rate", orderable=False),
    Col("flag", _("Check")),
]


def build_line_loss(user: Any, fs: df.FilterSet) -> ReportData:
    """线损: master − Σ sub-meters per branch of every meter tree at the sites in scope (billing's
    ``line_loss``; the period is whole days, ``[from, to]``)."""
    from prepay.billing.reports import line_loss

    data = fs.form.cleaned_data
    period = Period(data["date_from"], data["date_to"])
    rows = []
    for site in fs.qs.order_by("group__code", "code"):
        for r in line_loss(site.pk, period.start, period.end + timedelta(days=1)):
            flags = []
            if r.flagged:
                flags.append(
                    gettext("above the threshold")
                    if (r.loss or 0) >= 0
                    else gettext("sub-meters above master")
                )
            if r.incomplete:
                flags.append(gettext("readings missing"))
            rows.append(
                {
                    "site": site.name,
                    "meter": r.meter.serial,
                    "level": r.depth,
                    "subs": ", ".join(m.serial for m in r.children),
                    "master_energy": r.master_energy,
                    "sub_energy": r.sub_energy,
                    "loss": r.loss,
                    "loss_rate": None if r.loss_percent is None else r.loss_percent / 100,
                    "flag": "; ".join(flags),
                }
            )
    chart = Chart(
        _("Master and sub-meter energy"),
        [r["meter"] for r in rows],
        [
            (gettext("Master energy (kWh)"), [r["master_energy"] or Decimal(0) for r in rows]),
            (gettext("Sub-meters energy (kWh)"), [r["sub_energy"] for r in rows]),
        ],
        "kWh",
    )
    notes = [
        _(
            "Line loss = master energy − Σ energy of its direct sub-meters; the rate is a percentage of the "
            "master energy."
        )
    ]
    return ReportData(
        "line-loss",
        _("Line-loss statement"),
        subtitle(period, fs),
        LINE_LOSS_COLUMNS,
        rows,
        None,
        chart,
        notes,
    )


APPORTIONMENT_COLUMNS = [
    Col("site", _("Site")),
    Col("group", _("Public meter group")),
    Col("period", _("Period")),
    Col("unit", _("Unit")),
    Col("account", _("Account number")),
    Col("method", _("Method")),
    Col("fraction", _("Share")),
    Col("public_energy", _("Public energy (kWh / m³)"), "energy"),
    Col("energy", _("Energy apportioned (kWh / m³)"), "energy"),
    Col("price", _("Price")),
    Col("amount", _("Amount"), "money"),
    Col("explanation", _("How it was computed")),
]


def build_apportionment(user: Any, fs: df.FilterSet) -> ReportData:
    """公摊: every unit's share of the public meter groups' runs that start in the month."""
    from prepay.billing.models import ApportionmentRun, ApportionMethod
    from prepay.billing.reports import apportionment_statement

    period = month_period(parse_month(fs.form.cleaned_data["month"]))
    runs = (
        ApportionmentRun.objects.for_user(user, q.REPORTS)
        .filter(public_group__site__in=fs.qs, period_start__gte=period.start, period_start__lte=period.end)
        .select_related("public_group__site")
        .order_by("public_group__site__code", "public_group__name", "period_start")
    )
    methods = dict(ApportionMethod.choices)
    rows = []
    for run in runs:
        for s in apportionment_statement(run):
            rows.append(
                {
                    "site": run.public_group.site.name,
                    "group": run.public_group.name,
                    "period": f"{run.period_start:%Y-%m-%d} – {run.period_end:%Y-%m-%d}",
                    "unit": s.unit,
                    "account": s.account,
                    "method": str(methods.get(s.method, s.method)),
                    "fraction": s.fraction,
                    "public_energy": s.public_energy,
                    "energy": s.energy,
                    "price": s.price,
                    "amount": s.amount,
                    "explanation": s.explanation,
                }
            )
    totals: dict[str, Any] = dict(q.sum_rows(rows, ("energy", "amount")))
    by_unit: dict[str, Decimal] = {}
    for r in rows:
        by_unit[r["unit"]] = by_unit.get(r["unit"], Decimal(0)) + r["amount"]
    chart = Chart(
        _("Amount apportioned by unit"), list(by_unit), [(gettext("Amount"), list(by_unit.values()))], "¥"
    )
    return ReportData(
        "apportionment",
        _("Public-area apportionment statement"),
        subtitle(period, fs),
        APPORTIONMENT_COLUMNS,
        rows,
        totals,
        chart,
    )


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
            "reversals",
            _("Reversals and refunds"),
            _(
                "Who asked, who approved, when, how much, and how the money went back: void at the "
                "counter, refund by finance or agent float."
            ),
            ReversalsFilter,
            sales_defaults,
            reversal_report.build,
            reversal_report.scoped_reversals,
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
        Definition(
            "line-loss",
            _("Line-loss statement"),
            _("Master meter against its sub-meters for a period, per branch of each meter tree."),
            SitePeriodFilter,
            period_month_defaults,
            build_line_loss,
            _sites,
        ),
        Definition(
            "apportionment",
            _("Public-area apportionment statement"),
            _("What each unit was charged for the public meters in a month, and how."),
            MonthFilter,
            month_defaults,
            build_apportionment,
            _sites,
        ),
    )
}


#: the query names of a report page that are not filters: the file asked for, the page and its sort
NOT_FILTERS = ("export", "page", "per_page", "sort")


def bind_filters(definition: Definition, query: Any, request: Any) -> df.FilterSet:
    """The report's filters bound to ``query`` (a QueryDict), missing dates taking the report's
    default period, choices scoped to ``request.user``."""
    params = query.copy()
    for key, value in definition.defaults(q.local_today()).items():
        if not params.get(key):
            params[key] = value
    return definition.filterset(params, queryset=definition.queryset(request.user), request=request)


def invalid_filters_text(fs: df.FilterSet) -> str:
    """ "Invalid filters." and one line per field error, in the active language (refused exports)."""
    lines = [gettext("Invalid filters.")]
    for name, errors in fs.form.errors.items():
        field = fs.form.fields.get(name)
        label = str(field.label) if field is not None and field.label else name
        lines += [f"{label}: {e}" for e in errors]
    return "\n".join(lines) + "\n"


__all__ = ["NOT_FILTERS", "REPORTS", "Definition", "bind_filters", "invalid_filters_text"]
