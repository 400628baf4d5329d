"""The facts beside the statistics, gathered per site and day with a few set-wise queries (the same on
every database): register evidence, tamper events, offline meters, tokens never entered, line loss
by branch and recent false alarms. Each function returns ``{account id: partial facts}``; the run
merges them into :class:`prepay.domain.anomaly.Facts`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, ExpressionWrapper, F, FloatField, Max, OuterRef, Q, Subquery, Sum, Window
from django.db.models.functions import Cast, RowNumber
from django.utils import timezone

from prepay.analytics.choices import LOWERING, CaseStatus
from prepay.analytics.daily import day_bounds
from prepay.analytics.models import Case, DailyUsage
from prepay.domain.anomaly import LineLoss, Stats, Thresholds
from prepay.domain.lineloss import loss_report
from prepay.meters.models import Installation
from prepay.telemetry.models import MeterEvent, MeterLink, MeterReading
from prepay.vending.models import Delivery, Vend, VendStatus

#: meter event kinds that count as tampering (the poller records ``tamper`` when the flag comes on;
#: other sources may name the kind of tampering)
TAMPER_KINDS = ("tamper", "cover_open", "terminal_cover_open", "magnetic")

Partial = dict[int, dict[str, Any]]


def _wh(v: Decimal | None) -> int:
    """kWh (a Decimal from an energy field or its sum) → Wh."""
    return int((v or 0) * 1000)


def _local(at: datetime | None) -> datetime | None:
    """Reasons name wall-clock times of the site."""
    return None if at is None else timezone.localtime(at)


def register_facts(site_id: int, day: date, t: Thresholds) -> Partial:
    """Bypass use, backwards falls, resets (the largest) and the largest step over the recent window."""
    lo = day - timedelta(days=t.recent_days)
    rows = DailyUsage.objects.filter(site_id=site_id, account__isnull=False, day__gt=lo, day__lte=day)
    out: Partial = defaultdict(dict)
    sums = (
        rows.values("account_id")
        .annotate(
            bp=Sum("bypass"),
            bps=Sum("bypass_steps"),
            bw=Sum("backwards"),
            bws=Sum("backwards_steps"),
            rs=Sum("reset_steps"),
        )
        .filter(Q(bp__gt=0) | Q(bw__gt=0) | Q(rs__gt=0))
    )
    for r in sums:
        out[r["account_id"]].update(
            bypass=_wh(r["bp"]),
            bypass_steps=int(r["bps"]),
            backwards=_wh(r["bw"]),
            backwards_steps=int(r["bws"]),
            reset_steps=int(r["rs"]),
        )
    for r in rows.filter(reset_steps__gt=0).order_by("account_id", "reset_at"):
        facts = out[r.account_id]  # type: ignore[index]
        if _wh(r.reset_drop) > (facts.get("reset_drop") or 0):
            facts.update(
                reset_drop=_wh(r.reset_drop),
                reset_at=_local(r.reset_at),
                reset_from=_wh(r.reset_from),
                reset_to=_wh(r.reset_to),
            )
    power = ExpressionWrapper(
        Cast("max_step", FloatField()) * 3600 / F("max_step_secs"), output_field=FloatField()
    )
    rank = Window(
        RowNumber(), partition_by=[F("account_id")], order_by=[power.desc(), F("max_step_at").asc()]
    )
    steps = (
        rows.filter(max_step__gte=Decimal(t.jump_min) / 1000, max_step_secs__gt=0)
        .annotate(rk=rank)
        .filter(rk=1)
    )
    for acc, step, secs, at in steps.values_list("account_id", "max_step", "max_step_secs", "max_step_at"):
        out[acc].update(max_step=_wh(step), max_step_secs=int(secs), max_step_at=_local(at))
    return out


def _installed(
    site_id: int, start: datetime, end: datetime
) -> list[tuple[int, int, datetime, datetime | None]]:
    """(meter, account, started, ended) of installations at the site overlapping [start, end)."""
    return list(
        Installation.objects.filter(account__site_id=site_id, started_at__lt=end)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=start))
        .values_list("meter_id", "account_id", "started_at", "ended_at")
    )


def tamper_facts(site_id: int, day: date, t: Thresholds) -> Partial:
    """Tamper events per account (by kind) in the tamper window, on the meter installed at the time."""
    _, end = day_bounds(day)
    start = end - timedelta(days=t.tamper_window_days)
    spans = defaultdict(list)
    for meter, acc, since, until in _installed(site_id, start, end):
        spans[meter].append((acc, since, until))
    out: Partial = defaultdict(dict)
    events = MeterEvent.objects.filter(meter_id__in=spans, kind__in=TAMPER_KINDS, at__gte=start, at__lt=end)
    for ev in events.order_by("at"):
        for acc, since, until in spans[ev.meter_id]:
            if since <= ev.at and (until is None or ev.at < until):
                kind = str((ev.detail or {}).get("what") or ev.kind)
                counts = out[acc].setdefault("tamper", {})
                counts[kind] = counts.get(kind, 0) + 1
                out[acc]["tamper_last"] = _local(ev.at)
    return out


def offline_facts(site_id: int, day: date, t: Thresholds) -> Partial:
    """Networked meters installed on the day with no reading for ``offline_days``, and whether the
    account bought anything since the last reading (or since installation, for a meter never read)."""
    _, end = day_bounds(day)
    last = MeterReading.objects.filter(meter=OuterRef("meter_id"), read_at__lt=end).order_by("-read_at")
    installed = {m: (a, s) for m, a, s, u in _installed(site_id, end - timedelta(seconds=1), end)}
    links = (
        MeterLink.objects.filter(meter_id__in=installed)
        .annotate(last=Subquery(last.values("read_at")[:1]))
        .values_list("meter_id", "last")
    )
    out: Partial = {}
    limit = end - timedelta(days=t.offline_days)
    for meter, last_at in links:
        acc, since = installed[meter]
        quiet_from = last_at or since
        if quiet_from > limit:
            continue
        bought = Vend.objects.filter(account_id=acc, created_at__gt=quiet_from, created_at__lt=end).exists()
        out[acc] = {
            "offline_days": (end - quiet_from).days,
            "last_reading": _local(last_at),
            "bought_since": bought,
        }
    return out


def token_facts(site_id: int, day: date, t: Thresholds) -> Partial:
    """Tokens and cards sold in [day end − token window, day end − token days) to accounts whose meter
    reports its credit register, and how much that register rose since the first of them."""
    _, end = day_bounds(day)
    vends = (
        Vend.objects.filter(account__site_id=site_id, status=VendStatus.COMPLETED)
        .filter(delivery__in=(Delivery.TOKEN, Delivery.CARD), register_units__gt=0)
        .filter(
            created_at__gte=end - timedelta(days=t.token_window_days),
            created_at__lt=end - timedelta(days=t.token_days),
        )
    )
    sold: dict[int, dict[str, Any]] = {}
    for acc, units, at in vends.values_list("account_id", "register_units", "created_at").order_by(
        "created_at"
    ):
        s = sold.setdefault(acc, {"tokens": 0, "token_units": Decimal(0), "first": at, "last": at})
        s["tokens"] += 1
        s["token_units"] += units
        s["last"] = at
    if not sold:
        return {}
    rows = DailyUsage.objects.filter(
        site_id=site_id,
        account_id__in=sold,
        day__lte=day,
        day__gte=timezone.localdate(min(s["first"] for s in sold.values())),
    ).values_list("account_id", "last_at", "credit_added", "last_balance")
    rise: dict[int, Decimal] = defaultdict(Decimal)
    reports: set[int] = set()
    for acc, last_at, credit, balance in rows:
        if balance is not None:
            reports.add(acc)
        if last_at is not None and last_at >= sold[acc]["first"]:
            rise[acc] += credit
    out: Partial = {}
    for acc, s in sold.items():
        if acc in reports:
            out[acc] = {
                "tokens": s["tokens"],
                "token_units": s["token_units"],
                "token_first": timezone.localdate(s["first"]),
                "token_last": timezone.localdate(s["last"]),
                "credit_rise": rise[acc],
            }
    return out


def line_loss_facts(site_id: int, day: date, t: Thresholds, stats: dict[int, Stats]) -> Partial:
    """Branches (master − Σ direct sub-meters over the recent window) losing more than their master's
    threshold: every account on a direct sub-meter gets the branch; the one whose use fell most against
    its own median (or used least, without one) is the main suspect."""
    from prepay.billing.models import SubMeter

    nodes = list(SubMeter.objects.filter(meter__site_id=site_id).select_related("meter", "master"))
    if not nodes:
        return {}
    parents: dict[int, int | None] = {}
    for n in nodes:
        parents[n.meter_id] = n.master_id
    for n in nodes:
        if n.master_id is not None and n.master_id not in parents:
            parents[n.master_id] = None
    lo = day - timedelta(days=t.recent_days)
    rows = (
        DailyUsage.objects.filter(meter_id__in=parents, day__gt=lo, day__lte=day)
        .values("meter_id")
        .annotate(u=Sum("usage"), n=Count("day", distinct=True), acc=Max("account_id"))
    )
    energy = {r["meter_id"]: r["u"] for r in rows if r["n"] >= (t.recent_days + 1) // 2}
    accounts: dict[int, int | None] = {r["meter_id"]: r["acc"] for r in rows}
    thresholds = {n.meter_id: Decimal(n.loss_threshold) for n in nodes}
    serials = {n.meter_id: n.meter.serial for n in nodes} | {
        n.master_id: n.master.serial for n in nodes if n.master
    }
    out: Partial = {}
    for row in loss_report(parents, energy, threshold_percent="0"):
        limit = thresholds.get(row.meter, Decimal("5"))
        if row.incomplete or row.loss is None or row.loss_percent is None or row.loss_percent <= limit:
            continue
        subs = [acc for c in row.children if (acc := accounts.get(c)) is not None]
        suspect = min(subs, key=lambda a: _ratio(stats.get(a)), default=None)
        for acc in subs:
            out[acc] = {
                "line_loss": LineLoss(
                    master=serials.get(row.meter, str(row.meter)),
                    loss_percent=row.loss_percent,
                    master_energy=int(Decimal(row.master_energy or 0) * 1000),
                    sub_energy=int(row.sub_energy * 1000),
                    threshold=limit,
                    main_suspect=acc == suspect,
                )
            }
    return out


def _ratio(s: Stats | None) -> float:
    """Recent use against the account's own median (lower: more suspicious); without a median, the
    recent mean itself (so the smallest user of a branch with no history stands out)."""
    if s is None or s.recent_mean is None:
        return float("inf")
    if s.median:
        return s.recent_mean / s.median
    return s.recent_mean / 1e12


def false_alarm_facts(site_id: int, day: date, t: Thresholds) -> Partial:
    """The latest check that lowered each account's score within ``false_alarm_days`` before the day's end."""
    _, end = day_bounds(day)
    checked = Case.objects.filter(
        site_id=site_id,
        status=CaseStatus.CHECKED,
        outcome__in=LOWERING,
        checked_at__gte=end - timedelta(days=t.false_alarm_days),
        checked_at__lt=end,
    ).values_list("account_id", "checked_at")
    out: Partial = {}
    for acc, at in checked.order_by("checked_at"):
        out[acc] = {"false_alarm_on": timezone.localdate(at)}
    return out
