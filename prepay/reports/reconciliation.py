"""The ten-day reconciliation sheet (每10天对帐) of one site: takings from the journal, money handed over
(上缴), the difference, and what else moved money — computed, never stored (the sign-off keeps a copy
of the figures it signed: prepay/reconciliation/).

Contract (docs/reports.md, "Reconciliation"):

- **Takings** of the site in the period, per payment method, are the journal's ``cash`` lines at the
  site's vending points written in the period: sales paid at counters and online channels (+), voids
  paid back across the counter (−), cash received from agents for their float (+). That is the money
  the site's team holds for the period and hands over.
- **Handed over** is the sum of the period's :class:`~prepay.reconciliation.models.Handover` rows per
  method; the **difference** is handed over − takings (negative: not yet handed over, or short).
- Not in the takings, shown for information: refunds paid by finance (``cash`` lines without a
  vending point), payments taken without a vending point (bills), agents' sales drawn on their float,
  the shifts' cash-up differences, reversals of sales of earlier periods (already in the lines above),
  and the sales detail's net sales per method.
- A period is a ten-day period (1–10, 11–20, 21–end). A sheet is signed off once, after the period
  ended; from then on its figures cannot change: a reversal approved later counts in the period it was
  approved in, and a handover for a signed-off period is refused.

Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum
from django.utils.translation import gettext_lazy as _

from prepay.domain.reporting import Period, ten_day_period
from prepay.reports import sales
from prepay.reports.sales import day_bounds
from prepay.tenancy.models import Site
from prepay.vending import ledger
from prepay.vending.models import (
    ApprovalStatus,
    EntryKind,
    JournalLine,
    PaymentMethod,
    Reversal,
    ReversalKind,
    Shift,
    ShiftStatus,
    Vend,
)

ZERO = Decimal("0.00")
METHODS: list[str] = list(PaymentMethod.values)


def period_of(start: date) -> Period | None:
    """The ten-day period starting on ``start``; None when no ten-day period starts that day."""
    if start.day not in (1, 11, 21):
        return None
    return ten_day_period(start)


def periods_before(day: date, count: int) -> list[Period]:
    """The ten-day period containing ``day`` and the ``count - 1`` before it, newest first."""
    out = [ten_day_period(day)]
    while len(out) < count:
        out.append(ten_day_period(out[-1].start - timedelta(days=1)))
    return out


def by_method() -> dict[str, Decimal]:
    return dict.fromkeys(METHODS, ZERO)


@dataclass
class Line:
    """A line of the sheet: a label and money per payment method (``total`` also holds money whose
    method is not recorded, e.g. bill payments)."""

    key: str
    label: Any
    values: dict[str, Decimal] = field(default_factory=by_method)
    extra: Decimal = ZERO  # money with no payment method recorded

    @property
    def total(self) -> Decimal:
        return sum(self.values.values(), ZERO) + self.extra

    @property
    def cells(self) -> list[tuple[str, Decimal]]:
        """(payment method, money) in :data:`METHODS` order, then ("total", the total)."""
        return [(m, self.values[m]) for m in METHODS] + [("total", self.total)]

    def add(self, method: str, amount: Decimal) -> None:
        if method in self.values:
            self.values[method] += amount
        else:
            self.extra += amount


@dataclass
class Sheet:
    site: Site
    period: Period
    lines: list[Line]  # what makes the takings
    takings: Line
    handovers: list[Any]
    handed: Line
    difference: Line
    info: list[Line]
    late_reversals: int
    sign_off: Any = None

    def figures(self) -> dict[str, dict[str, str]]:
        """What a sign-off keeps: takings, handed and difference per method, as strings."""
        return {
            name: {m: str(line.values[m]) for m in METHODS}
            for name, line in (
                ("takings", self.takings),
                ("handed", self.handed),
                ("difference", self.difference),
            )
        }

    @property
    def balanced(self) -> bool:
        return _balanced(self.difference)

    @property
    def changed_since_sign_off(self) -> bool:
        """True when the figures now differ from those signed off (they never should: periods lock)."""
        return self.sign_off is not None and self.sign_off.figures != self.figures()


def _cash_lines(site: Site, period: Period) -> Any:
    start, end = day_bounds(period)
    return JournalLine.objects.filter(book=ledger.CASH, created_at__gte=start, created_at__lt=end)


def takings_lines(site: Site, period: Period) -> list[Line]:
    """Sales, voids and agents' float top-ups: the cash book at the site's vending points."""
    sold = Line("sales", _("Sales paid at counters and online channels"))
    voids = Line("voids", _("Voids paid back at the counter"))
    floats = Line("floats", _("Cash received from agents for their float"))
    other = Line("other", _("Other money at the vending points"))
    rows = (
        _cash_lines(site, period)
        .filter(point__site=site)
        .values("method", "entry__kind")
        .annotate(total=Sum("amount"))
    )
    for r in rows:
        kind = r["entry__kind"]
        line = {EntryKind.PAYMENT: sold, EntryKind.REFUND: voids, None: floats}.get(kind, other)
        line.add(r["method"], r["total"] or ZERO)
    return [sold, voids, floats] + ([other] if other.total or any(other.values.values()) else [])


def info_lines(site: Site, period: Period) -> tuple[list[Line], int]:
    """What moved money but is not in the takings (see the module docstring), and the number of
    reversals approved in the period of sales made before it."""
    refunds = Line("finance_refunds", _("Refunds paid by finance (not from the takings)"))
    unpointed = Line("unpointed", _("Payments taken without a vending point (bills)"))
    for r in (
        _cash_lines(site, period)
        .filter(point__isnull=True, site=site)
        .values("method", "entry__kind")
        .annotate(total=Sum("amount"))
    ):
        if r["entry__kind"] == EntryKind.REFUND:
            refunds.add(r["method"], -(r["total"] or ZERO))
        elif r["entry__kind"] == EntryKind.PAYMENT:
            unpointed.add(r["method"], r["total"] or ZERO)
    agents = Line("agents", _("Agents' sales drawn on their float"))
    start, end = day_bounds(period)
    drawn = JournalLine.objects.filter(
        book=ledger.AGENT_FLOAT,
        point__site=site,
        entry__isnull=False,
        created_at__gte=start,
        created_at__lt=end,
    ).aggregate(total=Sum("amount"))["total"]
    agents.extra = drawn or ZERO
    cashup = Line("cashup", _("Cash-up differences of shifts closed (counted − expected)"))
    for shift in Shift.objects.filter(
        point__site=site, status=ShiftStatus.CLOSED, closed_at__gte=start, closed_at__lt=end
    ).only("difference"):
        for method, value in (shift.difference or {}).items():
            cashup.add(method, Decimal(value))
    net = Line("net_sales", _("Net sales in the sales detail (sales less reversals)"))
    vends = Vend.objects.filter(account__site=site, created_at__gte=start, created_at__lt=end)
    reversals = Reversal.objects.filter(
        account__site=site,
        kind=ReversalKind.REVERSAL,
        status=ApprovalStatus.APPROVED,
        decided_at__gte=start,
        decided_at__lt=end,
    )
    for (method,), row in sales.net_sales(vends, reversals, ("method",)).items():
        net.add(method, row["amount"])
    late = reversals.filter(vend__created_at__lt=start).count()
    return [refunds, unpointed, agents, cashup, net], late


def _takings(lines: list[Line]) -> Line:
    takings = Line("takings", _("Takings to hand over"))
    for line in lines:
        for m in METHODS:
            takings.values[m] += line.values[m]
        takings.extra += line.extra
    return takings


def _handed(handovers: list[Any]) -> Line:
    handed = Line("handed", _("Handed over"))
    for h in handovers:
        handed.add(h.method, h.amount)
    return handed


def _difference(handed: Line, takings: Line) -> Line:
    difference = Line("difference", _("Difference (handed over − takings)"))
    for m in METHODS:
        difference.values[m] = handed.values[m] - takings.values[m]
    return difference


def _cash_position(site: Site, period: Period) -> tuple[list[Line], Line, list[Any], Line, Line]:
    """The takings lines, their total, the handovers, what they add up to and the difference."""
    from prepay.reconciliation.models import Handover

    lines = takings_lines(site, period)
    takings = _takings(lines)
    handovers = list(
        Handover.objects.filter(site=site, period_start=period.start)
        .select_related("recorded_by")
        .order_by("deposited_on", "pk")
    )
    handed = _handed(handovers)
    return lines, takings, handovers, handed, _difference(handed, takings)


def _balanced(difference: Line) -> bool:
    return all(v == 0 for v in difference.values.values())


def _sign_off(site: Site, period: Period) -> Any:
    from prepay.reconciliation.models import SignOff

    return SignOff.objects.filter(site=site, period_start=period.start).select_related("signed_by").first()


def reconciliation_sheet(site: Site, period: Period) -> Sheet:
    """The sheet of ``site`` for the ten-day ``period`` (the caller has checked the user may see it)."""
    lines, takings, handovers, handed, difference = _cash_position(site, period)
    info, late = info_lines(site, period)
    return Sheet(
        site, period, lines, takings, handovers, handed, difference, info, late, _sign_off(site, period)
    )


def period_list(sites: list[Site], periods: list[Period]) -> dict[tuple[int, date], dict[str, Any]]:
    """Takings, handed over and difference (totals over the methods), whether the sheet balances and
    its sign-off, by (site id, period start), for every site and period asked: the sheets' own
    figures (the takings are every cash line at the site's points, whatever made them), read in three
    queries however many sites and periods — one pass over the cash book with a sum per period, the
    handovers and the sign-offs — without the lines for information that only the sheet shows."""
    from prepay.reconciliation.models import Handover, SignOff

    out: dict[tuple[int, date], dict[str, Any]] = {}
    if not sites or not periods:
        return out
    ids = [s.pk for s in sites]
    starts = [p.start for p in periods]
    bounds = [day_bounds(p) for p in periods]
    sums = {
        f"p{i}": Sum("amount", filter=Q(created_at__gte=start, created_at__lt=end))
        for i, (start, end) in enumerate(bounds)
    }
    takings: dict[tuple[int, date], Line] = {}
    handed: dict[tuple[int, date], Line] = {}
    for site in ids:
        for p in periods:
            takings[(site, p.start)] = _takings([])
            handed[(site, p.start)] = _handed([])
    rows = (
        JournalLine.objects.filter(
            book=ledger.CASH,
            point__site__in=ids,
            created_at__gte=min(b[0] for b in bounds),
            created_at__lt=max(b[1] for b in bounds),
        )
        .values("point__site", "method")
        .annotate(**sums)
    )
    for r in rows:
        for i, p in enumerate(periods):
            takings[(r["point__site"], p.start)].add(r["method"], r[f"p{i}"] or ZERO)
    for h in Handover.objects.filter(site__in=ids, period_start__in=starts).only(
        "site_id", "period_start", "method", "amount"
    ):
        handed[(h.site_id, h.period_start)].add(h.method, h.amount)
    signed = {
        (s.site_id, s.period_start): s
        for s in SignOff.objects.filter(site__in=ids, period_start__in=starts).select_related("signed_by")
    }
    for key, taken in takings.items():
        difference = _difference(handed[key], taken)
        out[key] = {
            "takings": taken.total,
            "handed": handed[key].total,
            "difference": difference.total,
            "balanced": _balanced(difference),
            "sign_off": signed.get(key),
        }
    return out


__all__ = [
    "METHODS",
    "Line",
    "Sheet",
    "info_lines",
    "period_of",
    "period_list",
    "periods_before",
    "reconciliation_sheet",
    "takings_lines",
]
