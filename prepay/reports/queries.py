"""Scoped, read-only queries behind the dashboards and reports.

Every function takes the signed-in ``user`` and keeps only rows on which the user holds
``reports.view`` (``for_user(user, REPORTS)``): finance with a group membership sees every site of
its group, site staff (an auditor at one site) only that site, nobody another group. Nothing here
writes.

Definitions (also in docs/reports.md):

- **Sales** are vends (``Vend``); ``amount`` is the money taken, split into ``arrears_recovered``
  and ``credit_amount``. Reversed vends stay in the sales detail with their status; dashboards count
  only vends that are not reversed.
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
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from prepay.common.fields import MoneyField
from prepay.customers.models import Account
from prepay.domain.reporting import Period, ageing_bucket, recovery_rate
from prepay.meters.models import Meter, MeterModel
from prepay.telemetry.models import MeterLink, MeterReading, RelayState
from prepay.tenancy.models import Site
from prepay.vending.models import EntryKind, LedgerEntry, PaymentMethod, Vend, VendStatus

REPORTS = "reports.view"
ZERO = Decimal("0.00")
ZERO_ENERGY = Decimal("0.000")


def local_today() -> date:
    return timezone.localdate()


def day_bounds(period: Period) -> tuple[datetime, datetime]:
    """Aware datetimes [start of first day, start of the day after the last) in the current time zone.

    Range lookups on ``created_at`` use an index, where ``__date`` would compute per row.
    """
    tz = timezone.get_current_timezone()
    start = datetime.combine(period.start, time.min, tzinfo=tz)
    end = datetime.combine(period.end + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


def _money(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else ZERO


def _energy(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else ZERO_ENERGY


def scoped_sites(user: Any) -> QuerySet[Site]:
    return Site.objects.for_user(user, REPORTS).select_related("group")


def scoped_vends(user: Any) -> QuerySet[Vend]:
    return Vend.objects.for_user(user, REPORTS)


# ---------------------------------------------------------------- sales detail (售电明细表)


def sales_rows(vends: QuerySet[Vend]) -> list[dict[str, Any]]:
    """One dict per vend, oldest first, with local times and display names (for screen and export)."""
    methods = dict(PaymentMethod.choices)
    statuses = dict(VendStatus.choices)
    rows = []
    for v in vends.order_by("created_at", "pk").values(
        "pk",
        "created_at",
        "receipt_no",
        "account__site__name",
        "point__name",
        "created_by__username",
        "created_by__first_name",
        "created_by__last_name",
        "account__number",
        "account__customer__name",
        "meter__serial",
        "method",
        "amount",
        "arrears_recovered",
        "credit_amount",
        "energy",
        "status",
    ):
        full_name = f"{v['created_by__last_name']}{v['created_by__first_name']}".strip()
        rows.append(
            {
                "pk": v["pk"],
                "time": timezone.localtime(v["created_at"]).replace(tzinfo=None, microsecond=0),
                "receipt": v["receipt_no"] or "",
                "site": v["account__site__name"],
                "point": v["point__name"] or "",
                "operator": full_name or v["created_by__username"] or "",
                "account": v["account__number"],
                "customer": v["account__customer__name"],
                "meter": v["meter__serial"] or "",
                "method": str(methods.get(v["method"], v["method"])),
                "amount": _money(v["amount"]),
                "arrears": _money(v["arrears_recovered"]),
                "credit": _money(v["credit_amount"]),
                "energy": _energy(v["energy"]),
                "status": str(statuses.get(v["status"], v["status"])),
            }
        )
    return rows


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
    # The kind that counts: a reversal counts as the kind of the entry it reverses.
    grouped = (
        entries.annotate(counted_kind=Coalesce("reverses__kind", "kind"))
        .values("account__site_id", "counted_kind")
        .annotate(total=Sum("amount"))
    )
    collected: dict[int, Decimal] = defaultdict(lambda: ZERO)
    due: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for g in grouped:
        site_id, kind, total = g["account__site_id"], g["counted_kind"], _money(g["total"])
        if kind in _COLLECTED_KINDS:
            collected[site_id] += total
        elif kind in _DUE_KINDS:
            due[site_id] -= total  # charges debit the account (negative amounts)
    return {sid: Recovery(collected[sid], due[sid]) for sid in set(collected) | set(due)}


def recovery_rows(user: Any, period: Period, sites: QuerySet[Site]) -> list[dict[str, Any]]:
    by_site = recovery_by_site(user, period, sites)
    rows = []
    for site in sites.order_by("group__code", "code"):
        r = by_site.get(site.pk, Recovery(ZERO, ZERO))
        rows.append({"site": site.name, "collected": r.collected, "due": r.due, "rate": r.rate})
    return rows


# ---------------------------------------------------------------- arrears (欠费)


def arrears_rows(user: Any, sites: QuerySet[Site], *, as_of: date | None = None) -> list[dict[str, Any]]:
    """Accounts in scope with a negative balance, most overdue first, with their ageing bucket."""
    as_of = as_of or local_today()
    newest = LedgerEntry.objects.filter(account=OuterRef("pk")).order_by("-seq")
    last_ok_seq = (
        LedgerEntry.objects.filter(account=OuterRef("pk"), balance_after__gte=0)
        .order_by("-seq")
        .values("seq")
    )
    accounts = (
        Account.objects.for_user(user, REPORTS)
        .filter(site__in=sites)
        .annotate(balance=Subquery(newest.values("balance_after")[:1], output_field=MoneyField()))
        .filter(balance__lt=0)
        .annotate(last_ok_seq=Coalesce(Subquery(last_ok_seq[:1]), 0))
        .select_related("site", "customer", "unit__building")
    )
    rows = []
    for acc in accounts:
        first_negative = (
            LedgerEntry.objects.filter(account=acc, seq__gt=acc.last_ok_seq)  # type: ignore[attr-defined]
            .order_by("seq")
            .values_list("created_at", flat=True)
            .first()
        )
        since = timezone.localdate(first_negative) if first_negative else as_of
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
    """Money and energy sold in ``period`` per site and customer type, with money by payment method.

    Reversed vends are left out (their money went back). Sites with no sales get a row of zeros so
    the statement lists every site in scope.
    """
    start, end = day_bounds(period)
    vends = (
        scoped_vends(user)
        .filter(account__site__in=sites, created_at__gte=start, created_at__lt=end)
        .exclude(status=VendStatus.REVERSED)
    )
    grouped = vends.values("account__site_id", "account__customer__customer_type__name", "method").annotate(
        n=Count("pk"),
        amount=Sum("amount"),
        arrears=Sum("arrears_recovered"),
        credit=Sum("credit_amount"),
        energy=Sum("energy"),
    )
    acc: dict[tuple[int, str], dict[str, Any]] = {}
    for g in grouped:
        key = (g["account__site_id"], g["account__customer__customer_type__name"] or "")
        row = acc.setdefault(key, _blank_allocation())
        row["vends"] += g["n"]
        row["amount"] += _money(g["amount"])
        row["arrears"] += _money(g["arrears"])
        row["credit"] += _money(g["credit"])
        row["energy"] += _energy(g["energy"])
        row[f"m_{g['method']}"] += _money(g["amount"])
    rows = []
    for site in sites.order_by("group__code", "code"):
        keys = sorted(k for k in acc if k[0] == site.pk)
        if not keys:
            rows.append({"site": site.name, "ctype": "", **_blank_allocation()})
        for key in keys:
            rows.append({"site": site.name, "ctype": key[1], **acc[key]})
    return rows


def _blank_allocation() -> dict[str, Any]:
    row: dict[str, Any] = {"vends": 0, "amount": ZERO, "arrears": ZERO, "credit": ZERO, "energy": ZERO_ENERGY}
    for m in PaymentMethod.values:
        row[f"m_{m}"] = ZERO
    return row


# ---------------------------------------------------------------- dashboard


def today_sales(user: Any, today: date | None = None) -> dict[str, Any]:
    """Today's vends (not reversed) by vending point and payment method, with totals."""
    period = Period(today or local_today(), today or local_today())
    start, end = day_bounds(period)
    grouped = (
        scoped_vends(user)
        .filter(created_at__gte=start, created_at__lt=end)
        .exclude(status=VendStatus.REVERSED)
        .values("point__name", "method")
        .annotate(amount=Sum("amount"), n=Count("pk"))
        .order_by("point__name", "method")
    )
    points: list[str] = []
    by: dict[tuple[str, str], Decimal] = {}
    count = 0
    total = ZERO
    for g in grouped:
        name = g["point__name"] or "—"
        if name not in points:
            points.append(name)
        by[(name, g["method"])] = _money(g["amount"])
        count += g["n"]
        total += _money(g["amount"])
    labels = dict(PaymentMethod.choices)
    series = [
        {"method": m, "name": str(labels[m]), "data": [str(by.get((p, m), ZERO)) for p in points]}
        for m in PaymentMethod.values
        if any((p, m) in by for p in points)
    ]
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
    """Energy sold in ``period`` (vends not reversed) per site, stacked by customer type."""
    start, end = day_bounds(period)
    grouped = (
        scoped_vends(user)
        .filter(created_at__gte=start, created_at__lt=end, energy__isnull=False)
        .exclude(status=VendStatus.REVERSED)
        .values("account__site__name", "account__customer__customer_type__name")
        .annotate(energy=Sum("energy"))
        .order_by("account__site__name")
    )
    sites: list[str] = []
    by: dict[tuple[str, str], Decimal] = {}
    types: list[str] = []
    for g in grouped:
        s, t = g["account__site__name"], g["account__customer__customer_type__name"] or "—"
        if s not in sites:
            sites.append(s)
        if t not in types:
            types.append(t)
        by[(s, t)] = _energy(g["energy"])
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
    "Recovery",
    "allocation_rows",
    "arrears_rows",
    "energy_by_site_and_type",
    "latest_vend_id",
    "live_vends",
    "meter_health",
    "recovery_by_site",
    "recovery_rows",
    "sales_rows",
    "scoped_sites",
    "scoped_vends",
    "sum_rows",
    "today_sales",
]
