"""The reversals and refunds report (冲正 / 退费明细): who asked, who approved, when, how much, and how
the money went back — a void at the counter, a refund paid by finance, or an agent's float credited.

A row is dated by its decision (or its request while it waits). *Paid back* is the amount of the
approved rows only; for reversals of sales it is, with the opposite sign, the sales detail's reversal
rows of the same period (prepay/reports/sales.py), so the two reports agree.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_filters as df
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from prepay.domain.reporting import Period
from prepay.reports.base import Chart, Col, ReportData
from prepay.reports.subtitles import subtitle
from prepay.vending.models import ApprovalStatus, PaymentMethod, Reversal, ReversalKind
from prepay.vending.reversals import Settlement, settlement_from_row, with_settlement

REPORTS = "reports.view"
ZERO = Decimal("0.00")

COLUMNS = [
    Col("when", _("Time"), "datetime"),
    Col("kind", _("Kind")),
    Col("status", _("Status")),
    Col("site", _("Site")),
    Col("account", _("Account number")),
    Col("customer", _("Customer")),
    Col("reverses", _("Reverses receipt")),
    Col("receipt", _("Receipt number")),
    Col("point", _("Vending point")),
    Col("method", _("Payment method")),
    Col("amount", _("Amount"), "money"),
    Col("paid", _("Paid back"), "money"),
    Col("how", _("Money back")),
    Col("requested_at", _("Requested at"), "datetime"),
    Col("requested_by", _("Requested by")),
    Col("decided_at", _("Decided at"), "datetime"),
    Col("decided_by", _("Decided by")),
    Col("reason", _("Reason")),
]


def scoped_reversals(user: Any) -> QuerySet[Reversal]:
    """Reversals and refunds ``user`` may report on, with their settlement (``pay_book``,
    ``pay_point``) and ``when``: decided at, or requested at while undecided."""
    qs = Reversal.objects.for_user(user, REPORTS)
    return with_settlement(qs).annotate(when=Coalesce("decided_at", "requested_at"))


def _local(value: Any) -> Any:
    return timezone.localtime(value).replace(tzinfo=None, microsecond=0) if value else None


def _person(prefix: str, row: dict[str, Any]) -> str:
    name = f"{row[prefix + '__last_name'] or ''}{row[prefix + '__first_name'] or ''}".strip()
    return name or row[prefix + "__username"] or ""


def rows_of(reversals: QuerySet[Reversal]) -> list[dict[str, Any]]:
    """One display row per reversal or refund, oldest first."""
    kinds = dict(ReversalKind.choices)
    statuses = dict(ApprovalStatus.choices)
    methods = dict(PaymentMethod.choices)
    hows = dict(Settlement.choices)
    people = [
        f"{who}__{part}"
        for who in ("requested_by", "decided_by")
        for part in ("username", "first_name", "last_name")
    ]
    rows = []
    # ``when``, ``pay_book`` and ``pay_point`` are annotations (scoped_reversals): named through a list
    fields = [
        "pk",
        "when",
        "kind",
        "status",
        "account__site__name",
        "account__number",
        "account__customer__name",
        "vend__receipt_no",
        "receipt__code",
        "point__name",
        "method",
        "amount",
        "reason",
        "requested_at",
        "decided_at",
        "pay_book",
        "pay_point",
        *people,
    ]
    order = ["when", "pk"]
    for r in reversals.order_by(*order).values(*fields):
        approved = r["status"] == ApprovalStatus.APPROVED
        settlement = settlement_from_row(r)
        rows.append(
            {
                "pk": r["pk"],
                "when": _local(r["when"]),
                "kind": str(kinds.get(r["kind"], r["kind"])),
                "status": str(statuses.get(r["status"], r["status"])),
                "site": r["account__site__name"],
                "account": r["account__number"],
                "customer": r["account__customer__name"],
                "reverses": r["vend__receipt_no"] or "",
                "receipt": r["receipt__code"] or "",
                "point": r["point__name"] or "",
                "method": str(methods.get(r["method"], r["method"])),
                "amount": r["amount"],
                "paid": r["amount"] if approved else None,
                "how": str(hows[settlement]) if settlement else "",
                "requested_at": _local(r["requested_at"]),
                "requested_by": _person("requested_by", r),
                "decided_at": _local(r["decided_at"]),
                "decided_by": _person("decided_by", r) if r["decided_at"] else "",
                "reason": r["reason"],
            }
        )
    return rows


def build(user: Any, fs: df.FilterSet) -> ReportData:
    """The report for the filtered reversals and refunds (``fs.qs``, already scoped to ``user``)."""
    data = fs.form.cleaned_data
    period = Period(data["date_from"], data["date_to"])
    rows = rows_of(fs.qs)
    paid = [r for r in rows if r["paid"] is not None]
    totals: dict[str, Any] = {
        "kind": gettext("%(count)d requests") % {"count": len(rows)},
        "amount": sum((r["amount"] for r in rows), ZERO),
        "paid": sum((r["paid"] for r in paid), ZERO),
    }
    by_how: dict[str, Decimal] = {}
    for r in paid:
        by_how[r["how"]] = by_how.get(r["how"], ZERO) + r["paid"]
    chart = Chart(
        _("Money paid back, by how"), list(by_how), [(gettext("Paid back"), list(by_how.values()))], "¥"
    )
    notes = [
        _(
            "A void is a reversal approved while the sale's shift was open: the cashier paid the money "
            "back across the counter and the shift's cash-up expects that much less. Approved after the "
            "shift closed (or for an online sale), it is a refund paid by finance; a refund of a balance is "
            "always paid by finance. Rows are dated by the decision; Paid back counts approved rows only."
        )
    ]
    return ReportData(
        "reversals", _("Reversals and refunds"), subtitle(period, fs), COLUMNS, rows, totals, chart, notes
    )
