"""Read-only queries behind the suspicious-consumption screens: a case's evidence for its chart, the
dashboard panel, and the Excel export of the case list. Callers pass rows already scoped."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from prepay.analytics.access import scoped
from prepay.analytics.choices import CaseStatus
from prepay.analytics.daily import day_bounds
from prepay.analytics.facts import TAMPER_KINDS
from prepay.analytics.models import AnalysisRun, AnalyticsSettings, Case, DailyUsage
from prepay.analytics.reasons import describe, name
from prepay.analytics.run import windows
from prepay.common.spreadsheet import new_workbook, workbook_bytes, write_cell, write_row
from prepay.domain.anomaly import DayUse
from prepay.domain.anomaly.features import seasonal_baseline
from prepay.meters.models import Installation
from prepay.telemetry.models import MeterEvent
from prepay.vending.models import Vend

CHART_DAYS = 60
EVENT_KINDS = (*TAMPER_KINDS, "relay", "offline")


def _kwh(v: Any) -> str | None:
    return None if v is None else str(Decimal(v).quantize(Decimal("0.001")))


def evidence(case: Case) -> dict[str, Any]:
    """The chart of a case: daily use over the last :data:`CHART_DAYS` days to its last flagged day,
    the expected use from its seasonal baseline, use while cut off and backwards falls per day, the
    peer median when that was a reason, and the meter's events and the account's purchases."""
    day = case.last_day
    w = windows(AnalyticsSettings.for_site(case.site_id).thresholds())
    rows = (
        DailyUsage.objects.filter(account_id=case.account_id, day__gt=w.earliest(day), day__lte=day)
        .values("day")
        .annotate(
            u=Sum("usage"), n=Sum("readings"), o=Sum("open_readings"), bp=Sum("bypass"), bw=Sum("backwards")
        )
    )
    by_day = {r["day"]: r for r in rows}
    uses = {d: DayUse(int(r["u"] * 1000), int(r["n"]), int(r["o"])) for d, r in by_day.items()}
    baseline = seasonal_baseline(uses, day, w)
    days = [day - timedelta(days=n) for n in range(CHART_DAYS - 1, -1, -1)]

    def expected(d: date) -> str | None:
        if baseline is None:
            return None
        weekdays, overall, factor = baseline
        return f"{weekdays.get(d.isoweekday(), overall) * factor / 1000:.3f}"

    peer = next((r["params"].get("median") for r in case.reasons if r["code"] == "low_peer"), None)
    return {
        "days": [d.isoformat() for d in days],
        "usage": [_kwh(by_day[d]["u"]) if d in by_day else None for d in days],
        "expected": [expected(d) for d in days],
        "bypass": [_kwh(by_day[d]["bp"]) if d in by_day else None for d in days],
        "backwards": [_kwh(by_day[d]["bw"]) if d in by_day else None for d in days],
        "peer": peer,
        "marks": _marks(case, days[0], day),
        "reasons": [describe(r) for r in case.reasons],
    }


def _marks(case: Case, first: date, last: date) -> list[dict[str, str]]:
    """The meter's events (tamper, relay, offline) and the account's purchases, as chart marks."""
    start, _end = day_bounds(first)
    _start, end = day_bounds(last)
    meters = list(Installation.objects.filter(account_id=case.account_id).values_list("meter_id", flat=True))
    out = []
    events = MeterEvent.objects.filter(meter_id__in=meters, kind__in=EVENT_KINDS, at__gte=start, at__lt=end)
    for ev in events.order_by("at")[:200]:
        label = ev.kind if ev.kind != "relay" else f"relay → {(ev.detail or {}).get('to', '')}"
        out.append({"day": timezone.localdate(ev.at).isoformat(), "kind": ev.kind, "label": label})
    vends = Vend.objects.filter(account_id=case.account_id, created_at__gte=start, created_at__lt=end)
    for v in vends.order_by("created_at")[:100]:
        units = v.register_units if v.register_units is not None else v.energy
        out.append({"day": timezone.localdate(v.created_at).isoformat(), "kind": "vend", "label": f"{units}"})
    return out


def panel(user: Any, *, limit: int = 5) -> dict[str, Any]:
    """The dashboard's suspicious-accounts panel: open cases on the user's sites, the highest first."""
    cases = Case.objects.filter(scoped(user, Case)).filter(status=CaseStatus.OPEN)
    top = cases.select_related("account__customer").order_by("-score", "-last_day", "pk")[:limit]
    runs = AnalysisRun.objects.filter(scoped(user, AnalysisRun), status="done")
    return {
        "count": cases.count(),
        "top": [
            {
                "case": c,
                "reason": describe(c.reasons[0]) if c.reasons else "",
                "signal": name(c.reasons[0]["code"]) if c.reasons else "",
            }
            for c in top
        ],
        "last_day": runs.order_by("-day").values_list("day", flat=True).first(),
    }


def cases_xlsx(cases: QuerySet[Case], subtitle: str) -> bytes:
    """The case list as Excel (title, filters, headers on row 4, one row per case, every reason)."""
    wb, ws = new_workbook(_("Suspicious accounts"))
    write_cell(ws, 1, 1, _("Suspicious accounts"))
    write_cell(ws, 2, 1, subtitle)
    headers = [
        _("Account"),
        _("Customer"),
        _("Unit"),
        _("Site"),
        _("Score"),
        _("Flagged since"),
        _("Last flagged"),
        _("Status"),
        _("Outcome"),
        _("Note"),
        _("Signals"),
        _("Reasons"),
    ]
    write_row(ws, 4, headers)
    r = 4
    rows = cases.select_related("account__customer", "account__unit__building", "site")
    for c in rows.order_by("-score", "pk"):
        r += 1
        signals = ", ".join(dict.fromkeys(name(x["code"]) for x in c.reasons))
        write_row(
            ws,
            r,
            [
                c.account.number,
                c.account.customer.name,
                str(c.account.unit),
                c.site.name,
                c.score,
                c.opened_on,
                c.last_day,
                str(c.get_status_display()),
                str(c.get_outcome_display()) if c.outcome else "",
                c.note,
                signals,
                "; ".join(describe(x) for x in c.reasons),
            ],
        )
        ws.cell(row=r, column=6).number_format = ws.cell(row=r, column=7).number_format = "yyyy-mm-dd"
    for col, width in zip("ABCDEFGHIJKL", (14, 18, 16, 14, 7, 12, 12, 10, 14, 30, 30, 90), strict=True):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A5"
    return workbook_bytes(wb)


def counts_by_signal(cases: QuerySet[Case]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for reasons in cases.values_list("reasons", flat=True):
        for r in reasons:
            out[r["code"]] += 1
    return dict(out)
