"""Scoped, read-only queries behind the dashboards and reports.

Every function takes the signed-in ``user`` and keeps only rows on which the user holds
``reports.view`` (``for_user(user, REPORTS)``): finance with a group membership sees every site of
its group, site staff (an auditor at one site) only that site, nobody another group. Nothing here
writes.

Definitions (also in docs/reports.md):

- **Sales** are vends (``Vend``); ``amount`` is the money taken, split into ``arrears_recovered``
  and ``credit_amount``. Every report counts them the same way (prepay/reports/sales.py): a sale in
  the period it was made, an approved reversal negatively in the period it was approved — the
  ledger's own periods. The sales detail lists both; allocation and dashboard sum them.
- **Recovery rate** for a set of accounts and a period is ``collected ÷ due`` over the customer
  ledger (``LedgerEntry``): ``collected`` = Σ payments + Σ refunds (refunds are negative: money paid
  back); ``due`` = the money charged for energy and fees = −Σ of the entries of kind vend (credit
  loaded onto a meter), charge (remote fee control consumption), fee, reversal (a vend taken back:
  positive, so it lowers what is due) and credit_return (credit left on a meter valued back on
  closing). An entry that names the one it ``reverses`` counts with that entry's kind. Adjustments and
  transfer settlements are neither. A prepaid sale is paid and loaded at once, so a point that only
  sells prepaid credit recovers 100 %; remote-control and postpaid accounts show how much of what they
  were charged has been paid.
- **Arrears**: an account whose ledger balance (``balance_after`` of its newest entry) is below 0;
  it has been in arrears since the first entry after its last non-negative balance.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import F, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from prepay.common.fields import MoneyField
from prepay.customers.models import Account
from prepay.domain.reporting import Period, ageing_bucket, recovery_rate
from prepay.meters.models import Meter, MeterModel
from prepay.reports import sales as net
from prepay.reports.sales import day_bounds
from prepay.telemetry.models import MeterLink, MeterReading, RelayState
from prepay.tenancy.models import Site
from prepay.vending.models import EntryKind, LedgerEntry, PaymentMethod, Vend, VendStatus

REPORTS = "reports.view"
ZERO = Decimal("0.00")
ZERO_ENERGY = Decimal("0.000")


def local_today() -> date:
    return timezone.localdate()


def _money(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else ZERO


def _energy(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else ZERO_ENERGY


def scoped_sites(user: Any) -> QuerySet[Site]:
    return Site.objects.for_user(user, REPORTS).select_related("group")


def scoped_vends(user: Any) -> QuerySet[Vend]:
    return Vend.objects.for_user(user, REPORTS)


# ---------------------------------------------------------------- sums


def sum_rows(rows: Iterable[dict[str, Any]], keys: Iterable[str]) -> dict[str, Decimal]:
    """Exact Decimal sums of ``keys`` over ``rows`` (None counts as 0)."""
    keys = list(keys)
    totals: dict[str, Decimal] = dict.fromkeys(keys, Decimal(0))
    for row in rows:
        for k in keys:
            if row.get(k) is not None:
                totals[k] += row[k]
    return totals


# ---------------------------------------------------------------- recovery rate (回收率)


@dataclass(frozen=True)
class Recovery:
    collected: Decimal
    due: Decimal

    @property
    def rate(self) -> Decimal | None:
        return recovery_rate(self.collected, self.due)


_COLLECTED_KINDS = (EntryKind.PAYMENT, EntryKind.REFUND)
_DUE_KINDS = (EntryKind.VEND, EntryKind.CHARGE, EntryKind.FEE, EntryKind.REVERSAL, EntryKind.CREDIT_RETURN)


def recovery_by_site(user: Any, period: Period, sites: QuerySet[Site] | None = None) -> dict[int, Recovery]:
    """``site id → Recovery`` over ledger entries written in ``period`` (see the module docstring)."""
    start, end = day_bounds(period)
    entries = LedgerEntry.objects.for_user(user, REPORTS).filter(created_at__gte=start, created_at__lt=end)
    if sites is not None:
        entries = entries.filter(account__site__in=sites)
    # The kind that counts: a reversal counts as the kind of the entry it reverses. Two aggregates,
    # so that only the reversals join the entry they reverse (one outer join of every entry of the
    # period with the whole ledger made the planner hash the ledger).
    plain = (
        entries.filter(reverses__isnull=True)
        .values("account__site_id", counted_kind=F("kind"))
        .annotate(total=Sum("amount"))
    )
    reversing = (
        entries.filter(reverses__isnull=False)
        .values("account__site_id", counted_kind=F("reverses__kind"))
        .annotate(total=Sum("amount"))
    )
    collected: dict[int, Decimal] = defaultdict(lambda: ZERO)
    due: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for g in [*plain, *reversing]:
        site_id, kind, total = g["account__site_id"], g["counted_kind"], _money(g["total"])
        if kind in _COLLECTED_KINDS:
            collected[site_id] += total
        elif kind in _DUE_KINDS:
            due[site_id] -= total  # charges debit the account (negative amounts)
    return {sid: Recovery(collected[sid], due[sid]) for sid in set(collected) | set(due)}


def recovery_rows(
    user: Any, period: Period, sites: QuerySet[Site], by_site: dict[int, Recovery] | None = None
) -> list[dict[str, Any]]:
    """One row per site in scope; ``by_site``: ``recovery_by_site`` when the caller already has it."""
    if by_site is None:
        by_site = recovery_by_site(user, period, sites)
    rows = []
    for site in sites.order_by("group__code", "code"):
        r = by_site.get(site.pk, Recovery(ZERO, ZERO))
        rows.append({"site": site.name, "collected": r.collected, "due": r.due, "rate": r.rate})
    return rows


# ---------------------------------------------------------------- arrears (欠费)


def arrears_rows(user: Any, sites: QuerySet[Site], *, as_of: date | None = None) -> list[dict[str, Any]]:
    """Accounts in scope with a negative balance, most overdue first, with their ageing bucket.

    One query however many accounts are in arrears: the balance, the last entry that left the account
    at or above zero and the first entry after it (when the account went into arrears) are subqueries.
    """
    as_of = as_of or local_today()
    newest = LedgerEntry.objects.filter(account=OuterRef("pk")).order_by("-seq")
    last_ok_seq = (
        LedgerEntry.objects.filter(account=OuterRef("pk"), balance_after__gte=0)
        .order_by("-seq")
        .values("seq")
    )
    first_negative = (
        LedgerEntry.objects.filter(account=OuterRef("pk"), seq__gt=OuterRef("last_ok_seq"))
        .order_by("seq")
        .values("created_at")
    )
    accounts = (
        Account.objects.for_user(user, REPORTS)
        .filter(site__in=sites)
        .annotate(balance=Subquery(newest.values("balance_after")[:1], output_field=MoneyField()))
        .filter(balance__lt=0)
        .annotate(last_ok_seq=Coalesce(Subquery(last_ok_seq[:1]), 0))
        .annotate(first_negative=Subquery(first_negative[:1]))
        .select_related("site", "customer", "unit__building")
    )
    rows = []
    for acc in accounts:
        first_negative_at = acc.first_negative  # type: ignore[attr-defined]
        since = timezone.localdate(first_negative_at) if first_negative_at else as_of
        days = max((as_of - since).days, 0)
        rows.append(
            {
                "site": acc.site.name,
                "account": acc.number,
                "customer": acc.customer.name,
                "phone": acc.customer.phone,
                "unit": str(acc.unit),
                "balance": acc.balance,  # type: ignore[attr-defined]
                "since": since,
                "days": days,
                "bucket": ageing_bucket(days),
            }
        )
    rows.sort(key=lambda r: (-r["days"], r["balance"], r["account"]))
    return rows


# ---------------------------------------------------------------- monthly allocation per site (月度分摊)


def allocation_rows(user: Any, period: Period, sites: QuerySet[Site]) -> list[dict[str, Any]]:
    """Money and energy sold in ``period`` per site and customer type, with money by payment method:
    sales made in the period less reversals approved in it (prepay/reports/sales.py), with the number
    of each. Sites with no sales get a row of zeros so the statement lists every site in scope.
    """
    keys = ("account__site_id", "account__customer__customer_type__name")
    grouped = net.net_sales(
        net.vends_in(user, period).filter(account__site__in=sites),
        net.reversals_in(user, period).filter(account__site__in=sites),
        keys,
    )
    rows = []
    for site in sites.order_by("group__code", "code"):
        found = sorted(((k[1] or ""), v) for k, v in grouped.items() if k[0] == site.pk)
        if not found:
            rows.append({"site": site.name, "ctype": "", **net.blank()})
        for ctype, row in found:
            rows.append({"site": site.name, "ctype": ctype, **row})
    return rows


# ---------------------------------------------------------------- dashboard


def today_sales(user: Any, today: date | None = None) -> dict[str, Any]:
    """Today's sales by vending point and payment method, net of reversals approved today (the same
    figure as the sales detail for today), with the total and the number of today's sales that stand
    (not reversed)."""
    period = Period(today or local_today(), today or local_today())
    vends = net.vends_in(user, period)
    grouped = net.net_sales(vends, net.reversals_in(user, period), ("point__name", "method"))
    points: list[str] = []
    by: dict[tuple[str, str], Decimal] = {}
    total = ZERO
    for (name, method), row in sorted(grouped.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
        name = name or "—"
        if name not in points:
            points.append(name)
        by[(name, method)] = by.get((name, method), ZERO) + row["amount"]
        total += row["amount"]
    labels = dict(PaymentMethod.choices)
    series = [
        {"method": m, "name": str(labels[m]), "data": [str(by.get((p, m), ZERO)) for p in points]}
        for m in PaymentMethod.values
        if any((p, m) in by for p in points)
    ]
    count = vends.exclude(status=VendStatus.REVERSED).count()
    return {"points": points, "series": series, "count": count, "total": str(total)}


def meter_health(user: Any, *, limit: int = 20) -> dict[str, Any]:
    """Offline, cut-off and low-credit meters in scope (counts and the first ``limit`` of each).

    - offline: a ``MeterLink`` that does not answer (``online`` false);
    - cut-off: a link whose relay is open, or whose newest reading shows a balance ≤ 0;
    - low credit: newest reading's ``balance`` above 0 and at or below the meter model's alarm level
      (12 kWh single-phase, 36 kWh three-phase, 2 m³ water unless the model says otherwise).
    """
    links = MeterLink.objects.for_user(user, REPORTS).select_related("meter__site")
    offline = links.filter(online=False).order_by("meter__serial")
    newest = MeterReading.objects.filter(meter=OuterRef("pk"), balance__isnull=False).order_by("-read_at")
    meters = (
        Meter.objects.for_user(user, REPORTS)
        .annotate(balance=Subquery(newest.values("balance")[:1], output_field=MoneyField()))
        .filter(balance__isnull=False)
        .select_related("site", "model")
    )
    low_q = Q(pk__in=[])
    for model in MeterModel.objects.filter(pk__in=meters.values("model")):
        level = model.effective_alarm_level.quantize(Decimal("0.01"))
        low_q |= Q(model=model, balance__lte=level)
    low = meters.filter(low_q, balance__gt=0).order_by("balance", "serial")
    cut_q = Q(link__relay_state=RelayState.OPEN) | Q(balance__lte=0)
    cut_meters = (
        Meter.objects.for_user(user, REPORTS)
        .annotate(balance=Subquery(newest.values("balance")[:1], output_field=MoneyField()))
        .filter(cut_q)
        .select_related("site")
        .order_by("serial")
    )

    def m(meter: Meter, **extra: Any) -> dict[str, Any]:
        return {"serial": meter.serial, "site": meter.site.name, **extra}

    return {
        "offline": {
            "count": offline.count(),
            "items": [
                m(
                    link.meter,
                    last_seen=(
                        timezone.localtime(link.last_seen_at).strftime("%Y-%m-%d %H:%M")
                        if link.last_seen_at
                        else ""
                    ),
                )
                for link in offline[:limit]
            ],
        },
        "cut_off": {
            "count": cut_meters.count(),
            "items": [m(x, balance=_fmt(x.balance)) for x in cut_meters[:limit]],  # type: ignore[attr-defined]
        },
        "low_credit": {
            "count": low.count(),
            "items": [m(x, balance=_fmt(x.balance)) for x in low[:limit]],  # type: ignore[attr-defined]
        },
    }


def _fmt(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def energy_by_site_and_type(user: Any, period: Period) -> dict[str, Any]:
    """Energy sold in ``period`` per site, stacked by customer type: sales less reversals approved in
    the period (the allocation's energy)."""
    grouped = net.net_sales(
        net.vends_in(user, period),
        net.reversals_in(user, period),
        ("account__site__name", "account__customer__customer_type__name"),
    )
    sites: list[str] = []
    by: dict[tuple[str, str], Decimal] = {}
    types: list[str] = []
    for (s, t), row in sorted(grouped.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        t = t or "—"
        if s not in sites:
            sites.append(s)
        if t not in types:
            types.append(t)
        by[(s, t)] = by.get((s, t), ZERO_ENERGY) + row["energy"]
    series = [{"name": t, "data": [str(by.get((s, t), ZERO_ENERGY)) for s in sites]} for t in sorted(types)]
    return {"sites": sites, "series": series}


def live_vends(user: Any, *, after: int = 0, limit: int = 20) -> list[dict[str, Any]]:
    """The newest vends in scope (newest first), only those with ``pk > after`` when given."""
    qs = scoped_vends(user)
    if after:
        qs = qs.filter(pk__gt=after)
    methods = dict(PaymentMethod.choices)
    statuses = dict(VendStatus.choices)
    out = []
    for v in qs.order_by("-pk").values(
        "pk",
        "created_at",
        "point__name",
        "account__site__name",
        "account__number",
        "method",
        "amount",
        "energy",
        "status",
    )[:limit]:
        out.append(
            {
                "id": v["pk"],
                "time": timezone.localtime(v["created_at"]).strftime("%H:%M:%S"),
                "point": v["point__name"] or "",
                "site": v["account__site__name"],
                "account": v["account__number"],
                "method": str(methods.get(v["method"], v["method"])),
                "amount": str(_money(v["amount"])),
                "energy": _fmt(v["energy"]),
                "status": str(statuses.get(v["status"], v["status"])),
            }
        )
    return out


def latest_vend_id(user: Any) -> int:
    return scoped_vends(user).aggregate(m=Max("pk"))["m"] or 0


__all__ = [
    "REPORTS",
    "day_bounds",
    "Recovery",
    "allocation_rows",
    "arrears_rows",
    "energy_by_site_and_type",
    "latest_vend_id",
    "live_vends",
    "meter_health",
    "recovery_by_site",
    "recovery_rows",
    "scoped_sites",
    "scoped_vends",
    "sum_rows",
    "today_sales",
]
