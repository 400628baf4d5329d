"""Sales net of reversals: the one way every report counts the money and energy sold.

Contract (docs/reports.md, "How the figures relate"):

- A **sale** (``Vend``) counts in the period in which it was made, whatever became of it later: its
  money crossed the counter then, and its payment entry is in that period of the ledger.
- An approved **reversal** of a sale counts, negatively, in the period in which it was approved —
  when its money went back (a void at the counter, a refund paid by finance, or an agent's float
  credited) and its reversal and refund entries were written. A period already reconciled and signed
  off never changes: a late reversal lands in the period of its approval.
- So for any period and scope: money sold = Σ sales − Σ reversals approved, which is what the ledger
  holds (Σ vend payments + Σ reversal pay-outs), and energy sold = Σ energy of the sales − Σ energy of
  the reversed sales, the ledger's Σ ``energy`` of its vend and reversal entries.

The sales detail, the monthly allocation and the dashboard are all built from :func:`net_sales` (or
from rows that sum to it: :func:`reversal_rows`). Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from prepay.domain.reporting import Period
from prepay.vending.models import (
    ApprovalStatus,
    PaymentMethod,
    Reversal,
    ReversalKind,
    Vend,
    VendStatus,
)
from prepay.vending.reversals import Settlement, settlement_from_row, with_settlement

ZERO = Decimal("0.00")
ZERO_ENERGY = Decimal("0.000")
REPORTS = "reports.view"

#: row key -> Vend field summed
SUMS = {"amount": "amount", "arrears": "arrears_recovered", "credit": "credit_amount", "energy": "energy"}


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


def vends_in(user: Any, period: Period) -> QuerySet[Vend]:
    """Sales made in ``period`` that ``user`` may report on (every status)."""
    start, end = day_bounds(period)
    return Vend.objects.for_user(user, REPORTS).filter(created_at__gte=start, created_at__lt=end)


def reversals_in(user: Any, period: Period) -> QuerySet[Reversal]:
    """Reversals of sales approved in ``period`` that ``user`` may report on."""
    start, end = day_bounds(period)
    return Reversal.objects.for_user(user, REPORTS).filter(
        kind=ReversalKind.REVERSAL,
        status=ApprovalStatus.APPROVED,
        decided_at__gte=start,
        decided_at__lt=end,
    )


def blank() -> dict[str, Any]:
    """A zero row of :func:`net_sales`."""
    row: dict[str, Any] = {
        "vends": 0,
        "reversed": 0,
        "amount": ZERO,
        "arrears": ZERO,
        "credit": ZERO,
        "energy": ZERO_ENERGY,
    }
    for m in PaymentMethod.values:
        row[f"m_{m}"] = ZERO
    return row


def net_sales(
    vends: QuerySet[Vend], reversals: QuerySet[Reversal], keys: Iterable[str]
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Sales less reversals grouped by ``keys`` (Vend lookups, e.g. ``account__site_id``, ``method``):
    ``{key values: row}`` with ``vends`` (sales counted), ``reversed`` (reversals counted), the net
    ``amount``, ``arrears``, ``credit``, ``energy`` and the net money per payment method (``m_cash`` …).

    ``vends`` and ``reversals`` are already limited to the period and scope (:func:`vends_in`,
    :func:`reversals_in`); a reversal is grouped by its sale's values.
    """
    keys = list(keys)
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    sums = {k: Sum(f) for k, f in SUMS.items()}
    for g in vends.values(*keys, "method").annotate(n=Count("pk"), **sums):
        row = out.setdefault(tuple(g[k] for k in keys), blank())
        row["vends"] += g["n"]
        _add(row, g, 1)
    back = {k: Sum(f"vend__{f}") for k, f in SUMS.items()}
    named = {f"vend__{k}": k for k in [*keys, "method"]}
    for g in reversals.values(*named).annotate(n=Count("pk"), **back):
        g = {named.get(k, k): v for k, v in g.items()}
        row = out.setdefault(tuple(g[k] for k in keys), blank())
        row["reversed"] += g["n"]
        _add(row, g, -1)
    return out


def _add(row: dict[str, Any], g: dict[str, Any], sign: int) -> None:
    for k in ("amount", "arrears", "credit"):
        row[k] += sign * _money(g[k])
    row["energy"] += sign * _energy(g["energy"])
    row[f"m_{g['method']}"] += sign * _money(g["amount"])


def totals(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The sum of :func:`net_sales` rows."""
    out = blank()
    for row in rows:
        for k, v in row.items():
            out[k] += v
    return out


# ---------------------------------------------------------------- sales detail rows


def _person(first: str | None, last: str | None, username: str | None) -> str:
    return f"{last or ''}{first or ''}".strip() or username or ""


def _local(when: Any) -> Any:
    return timezone.localtime(when).replace(tzinfo=None, microsecond=0)


#: labels (lazy: translated when a row is made, in the language of the request)
_METHODS = dict(PaymentMethod.choices)
_STATUSES = dict(VendStatus.choices)
_SETTLEMENTS = dict(Settlement.choices)


class _Labels(NamedTuple):
    sale: str
    methods: dict[str, str]
    statuses: dict[str, str]


@lru_cache(maxsize=16)
def _labels_in(language: str | None) -> _Labels:
    return _Labels(
        _("Sale"), {k: str(v) for k, v in _METHODS.items()}, {k: str(v) for k, v in _STATUSES.items()}
    )


def _labels() -> _Labels:
    """The row labels in the active language, translated once per language rather than once a row
    (an export of 100,000 sales would otherwise look each one up 300,000 times)."""
    return _labels_in(get_language())


#: the values of a sale that :func:`sale_row` reads
SALE_FIELDS = (
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
)


def sale_row(v: dict[str, Any]) -> dict[str, Any]:
    """The sales detail's row of one sale (its :data:`SALE_FIELDS`): local time, display names."""
    labels = _labels()
    return {
        "pk": v["pk"],
        "time": _local(v["created_at"]),
        "entry": labels.sale,
        "receipt": v["receipt_no"] or "",
        "site": v["account__site__name"],
        "point": v["point__name"] or "",
        "operator": _person(
            v["created_by__first_name"], v["created_by__last_name"], v["created_by__username"]
        ),
        "account": v["account__number"],
        "customer": v["account__customer__name"],
        "meter": v["meter__serial"] or "",
        "method": labels.methods.get(v["method"], v["method"]),
        "amount": _money(v["amount"]),
        "arrears": _money(v["arrears_recovered"]),
        "credit": _money(v["credit_amount"]),
        "energy": _energy(v["energy"]),
        "status": labels.statuses.get(v["status"], v["status"]),
    }


def sale_rows(vends: QuerySet[Vend]) -> list[dict[str, Any]]:
    """One dict per sale, oldest first, with local times and display names (screen and export)."""
    return [sale_row(v) for v in vends.order_by("created_at", "pk").values(*SALE_FIELDS)]


def reversal_filter(
    site: Any = None, point: Any = None, operator: Any = None, method: str | None = None
) -> Q:
    """The sales detail's filters, applied to reversals through the sale they reverse."""
    q = Q()
    if site:
        q &= Q(vend__account__site=site)
    if point:
        q &= Q(vend__point=point)
    if operator:
        q &= Q(vend__created_by=operator)
    if method:
        q &= Q(vend__method=method)
    return q


#: the values of a reversal that :func:`reversal_row` reads; the pay-out's journal line (pay_book,
#: pay_point) is an annotation of :func:`prepay.vending.reversals.with_settlement`
REVERSAL_FIELDS = (
    "pk",
    "decided_at",
    "receipt__code",
    "vend__receipt_no",
    "account__site__name",
    "vend__point__name",
    "vend__created_by__username",
    "vend__created_by__first_name",
    "vend__created_by__last_name",
    "account__number",
    "account__customer__name",
    "vend__meter__serial",
    "vend__method",
    "vend__amount",
    "vend__arrears_recovered",
    "vend__credit_amount",
    "vend__energy",
    "pay_book",
    "pay_point",
)


def reversal_row(r: dict[str, Any]) -> dict[str, Any]:
    """The negative row of one approved reversal (its :data:`REVERSAL_FIELDS`): the sale's money,
    arrears, credit and energy taken back, at the time it was approved, in the columns of
    :func:`sale_row`; ``pk`` is the reversal's, negated."""
    settlement = settlement_from_row(r)
    return {
        "pk": -r["pk"],
        "time": _local(r["decided_at"]),
        "entry": str(_SETTLEMENTS.get(settlement, _("Reversal"))),
        "receipt": r["receipt__code"] or "",
        "site": r["account__site__name"],
        "point": r["vend__point__name"] or "",
        "operator": _person(
            r["vend__created_by__first_name"],
            r["vend__created_by__last_name"],
            r["vend__created_by__username"],
        ),
        "account": r["account__number"],
        "customer": r["account__customer__name"],
        "meter": r["vend__meter__serial"] or "",
        "method": _labels().methods.get(r["vend__method"], r["vend__method"]),
        "amount": -_money(r["vend__amount"]),
        "arrears": -_money(r["vend__arrears_recovered"]),
        "credit": -_money(r["vend__credit_amount"]),
        "energy": -_energy(r["vend__energy"]),
        "status": _("Reverses %(r)s") % {"r": r["vend__receipt_no"]},
    }


def reversal_rows(reversals: QuerySet[Reversal]) -> list[dict[str, Any]]:
    """One negative row per approved reversal, oldest decision first (:func:`reversal_row`)."""
    return [
        reversal_row(r)
        for r in with_settlement(reversals).order_by("decided_at", "pk").values(*REVERSAL_FIELDS)
    ]


__all__ = [
    "SUMS",
    "day_bounds",
    "blank",
    "net_sales",
    "reversal_filter",
    "REVERSAL_FIELDS",
    "SALE_FIELDS",
    "reversal_row",
    "reversal_rows",
    "reversals_in",
    "sale_row",
    "sale_rows",
    "totals",
    "vends_in",
]
