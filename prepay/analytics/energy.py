"""Energy analysis (能耗分析, 分类分项): a site's consumption by energy item and by area, per day, month
or year, with year-on-year and period-on-period change, per m², peak/valley shares and the top
consumers. Read-only, from :class:`DailyUsage` (filled by ``prepay analyse``), aggregated in SQL.

Definitions (also in docs/analytics.md):

* a meter's **item** is its :class:`MeterClassification` (A lighting and sockets, B HVAC, C power,
  D special, and their sub-items); without one it is *unclassified*;
* its **area** is the classification's building / floor / unit, else those of the unit of the account
  it served that day; a classification of kind *public area* puts it in its building's public area;
* **per m²** divides by the floor area of the units in the area (Unit.area);
* **year-on-year** (同比) compares with the same dates a year earlier, **period-on-period** (环比) with
  the period of the same length just before (for a calendar month: the month before);
* **peak / valley shares** are the shares of the meters' time-of-use registers (sharp, peak, flat,
  valley) in the energy that had them — the periods of the time-of-use tariff the meters keep.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Case as When_
from django.db.models import CharField, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, Substr, Trunc
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prepay.analytics.choices import ITEMS, AreaKind, EnergyItem
from prepay.analytics.models import DailyUsage
from prepay.customers.models import Building, Unit

GRAINS = ("day", "month", "year")
AREAS = ("building", "floor", "unit")
TOP = 10
ZERO = Decimal("0.000")
UNCLASSIFIED = "-"
TOU = ("sharp", "peak", "flat", "valley")
TOU_NAMES = {
    "sharp": gettext_lazy("Sharp"),
    "peak": gettext_lazy("Peak"),
    "flat": gettext_lazy("Flat"),
    "valley": gettext_lazy("Valley"),
}


@dataclass(frozen=True)
class EnergyQuery:
    site_id: int
    start: date
    end: date  # inclusive
    grain: str = "month"
    building_id: int | None = None
    area: str = "building"
    detail: bool = False  # sub-items (A1, B2 …) instead of items (A, B …)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def item_label(code: str | None) -> str:
    if not code or code == UNCLASSIFIED:
        return _("Unclassified")
    return str(EnergyItem(code).label) if code in EnergyItem.values else code


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of the same length just before; a whole calendar month → the month before."""
    if start.day == 1 and end.day == calendar.monthrange(end.year, end.month)[1] and start.month == end.month:
        prev_end = start - timedelta(days=1)
        return prev_end.replace(day=1), prev_end
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def year_before(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def _rows(q: EnergyQuery, start: date, end: date) -> QuerySet[DailyUsage]:
    building = Coalesce(F("meter__classification__building_id"), F("account__unit__building_id"))
    rows = DailyUsage.objects.filter(site_id=q.site_id, day__gte=start, day__lte=end).annotate(b=building)
    return rows.filter(b=q.building_id) if q.building_id else rows


def _item(detail: bool) -> Any:
    code = F("meter__classification__item") if detail else Substr("meter__classification__item", 1, 1)
    return Coalesce(code, Value(UNCLASSIFIED), output_field=CharField())


def _change(now: Decimal, before: Decimal) -> Decimal | None:
    """(now − before) / before as a fraction; None without a figure before."""
    if not before:
        return None
    return ((now - before) / before).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def _share(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part / whole).quantize(Decimal("0.0001"), ROUND_HALF_UP) if whole else None


@dataclass
class EnergyReport:
    query: EnergyQuery
    total: Decimal = ZERO
    total_yoy: Decimal | None = None
    total_mom: Decimal | None = None
    area_m2: Decimal = ZERO
    items: list[dict[str, Any]] = field(default_factory=list)
    buckets: list[str] = field(default_factory=list)
    series: list[tuple[str, list[Decimal]]] = field(default_factory=list)
    areas: list[dict[str, Any]] = field(default_factory=list)
    tou: list[dict[str, Any]] = field(default_factory=list)
    top: list[dict[str, Any]] = field(default_factory=list)

    @property
    def per_m2(self) -> Decimal | None:
        return (self.total / self.area_m2).quantize(Decimal("0.001"), ROUND_HALF_UP) if self.area_m2 else None


def _by_item(q: EnergyQuery, start: date, end: date) -> dict[str, Decimal]:
    rows = _rows(q, start, end).annotate(item=_item(q.detail)).values("item").annotate(e=Sum("usage"))
    return {r["item"]: r["e"] or ZERO for r in rows}


def _items(report: EnergyReport) -> None:
    q = report.query
    now = _by_item(q, q.start, q.end)
    ya = _by_item(q, year_before(q.start), year_before(q.end))
    prev = _by_item(q, *previous_period(q.start, q.end))
    codes = list(ITEMS) if not q.detail else [c for c in EnergyItem.values if len(c) == 2]
    codes += sorted(c for c in now if c not in codes)
    report.total = sum(now.values(), ZERO)
    report.total_yoy = _change(report.total, sum(ya.values(), ZERO))
    report.total_mom = _change(report.total, sum(prev.values(), ZERO))
    for code in codes:
        e = now.get(code, ZERO)
        if not e and code not in ITEMS:
            continue
        report.items.append(
            {
                "code": code,
                "item": item_label(code),
                "energy": e,
                "share": _share(e, report.total),
                "last_year": ya.get(code, ZERO),
                "yoy": _change(e, ya.get(code, ZERO)),
                "previous": prev.get(code, ZERO),
                "mom": _change(e, prev.get(code, ZERO)),
            }
        )


def _series(report: EnergyReport) -> None:
    q = report.query
    rows = (
        _rows(q, q.start, q.end)
        .annotate(bucket=Trunc("day", q.grain), item=_item(q.detail))
        .values("bucket", "item")
        .annotate(e=Sum("usage"))
    )
    fmt = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}[q.grain]
    buckets: list[str] = []
    d = q.start
    while d <= q.end:
        label = d.strftime(fmt)
        if label not in buckets:
            buckets.append(label)
        d += timedelta(days=1)
    values: dict[str, dict[str, Decimal]] = {}
    for r in rows:
        values.setdefault(r["item"], {})[r["bucket"].strftime(fmt)] = r["e"] or ZERO
    report.buckets = buckets
    order = [i["code"] for i in report.items]
    report.series = [
        (item_label(c), [values.get(c, {}).get(b, ZERO) for b in buckets]) for c in order if c in values
    ]


def _unit_areas(q: EnergyQuery) -> QuerySet[Unit]:
    units = Unit.objects.filter(building__site_id=q.site_id)
    return units.filter(building_id=q.building_id) if q.building_id else units


def _areas(report: EnergyReport) -> None:
    q = report.query
    public = Q(meter__classification__area_kind=AreaKind.PUBLIC)
    key: Any = {
        "building": F("b"),
        "floor": Coalesce(F("meter__classification__floor"), F("account__unit__floor")),
        "unit": Coalesce(F("meter__classification__unit_id"), F("account__unit_id")),
    }[q.area]
    rows = (
        _rows(q, q.start, q.end)
        .annotate(pub=When_(When(public, then=Value(1)), default=Value(0)), key=key)
        .values("b", "key", "pub")
        .annotate(e=Sum("usage"))
    )
    units = _unit_areas(q)
    names = dict(Building.objects.filter(site_id=q.site_id).values_list("pk", "name"))
    report.area_m2 = sum((u.area for u in units), ZERO)
    out = []
    for r in rows:
        e = r["e"] or ZERO
        if r["pub"]:
            label, m2 = _("%(building)s public area") % {"building": names.get(r["b"], "—")}, None
        elif q.area == "building":
            label = names.get(r["b"], _("No building"))
            m2 = sum((u.area for u in units if u.building_id == r["b"]), ZERO)
        elif q.area == "floor":
            label = _("%(building)s floor %(floor)s") % {
                "building": names.get(r["b"], "—"),
                "floor": r["key"],
            }
            m2 = sum((u.area for u in units if u.building_id == r["b"] and u.floor == r["key"]), ZERO)
        else:
            unit = next((u for u in units if u.pk == r["key"]), None)
            label = str(unit) if unit else _("No unit")
            m2 = unit.area if unit else None
        per = (e / m2).quantize(Decimal("0.001"), ROUND_HALF_UP) if m2 else None
        out.append({"area": label, "energy": e, "m2": m2, "per_m2": per, "share": _share(e, report.total)})
    report.areas = sorted(out, key=lambda a: (-a["energy"], a["area"]))


def _tou(report: EnergyReport) -> None:
    q = report.query
    sums = _rows(q, q.start, q.end).aggregate(**{k: Sum(k) for k in TOU})
    whole = sum((sums[k] or ZERO for k in TOU), ZERO)
    report.tou = [
        {"period": str(TOU_NAMES[k]), "energy": sums[k] or ZERO, "share": _share(sums[k] or ZERO, whole)}
        for k in TOU
    ]


def _top(report: EnergyReport) -> None:
    q = report.query
    rows = (
        _rows(q, q.start, q.end)
        .values("meter_id", "meter__serial", "meter__classification__item")
        .annotate(e=Sum("usage"))
        .order_by("-e", "meter__serial")[:TOP]
    )
    accounts = dict(
        _rows(q, q.start, q.end)
        .filter(meter_id__in=[r["meter_id"] for r in rows], account__isnull=False)
        .order_by("day")
        .values_list("meter_id", "account__number")
    )
    report.top = [
        {
            "meter": r["meter__serial"],
            "account": accounts.get(r["meter_id"], ""),
            "item": item_label(r["meter__classification__item"]),
            "energy": r["e"] or ZERO,
            "share": _share(r["e"] or ZERO, report.total),
        }
        for r in rows
    ]


def energy_report(q: EnergyQuery) -> EnergyReport:
    """Every figure of the energy page for ``q``."""
    report = EnergyReport(q)
    _items(report)
    _series(report)
    _areas(report)
    _tou(report)
    _top(report)
    return report
