"""What each role finds first on the home page: the work in front of them.

* A cashier (``vend.sell``): their shift — where and since when, the takings so far by payment
  method — or the form to open one.
* Finance (``reports.view``): today's takings in their sites and the way to the dashboard, and how
  many requests wait for their decision (``reversal.approve``).
* A clerk (``account.lifecycle``): their pending requests — reversals, refunds and adjustments they
  asked for that nobody has decided yet — credit still to deliver, and remote commands that failed.

Each panel is computed only for a user holding its capability, scoped like the pages it links to;
the queries do not grow with the number of rows (counts, and at most :data:`SHOWN` of each).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from prepay.tenancy.scoping import holds

#: the most rows of one kind a panel lists (the page it links to has them all)
SHOWN = 5


def cashier_panel(user: Any) -> dict[str, Any]:
    """The open shift with its takings so far, or the open-shift form."""
    from prepay.counter.forms import OpenShiftForm
    from prepay.vending.actions import current_shift
    from prepay.vending.models import PaymentMethod
    from prepay.vending.shifts import shift_summary

    shift = current_shift(user)
    if shift is None:
        return {"shift": None, "form": OpenShiftForm(user=user)}
    summary = shift_summary(shift)
    labels = dict(PaymentMethod.choices)
    takings = [
        {
            "method": labels[m],
            "amount": summary["sales"][m] - summary["voids"][m],
            "count": summary["counts"][m],
        }
        for m in PaymentMethod.values
        if summary["counts"][m] or summary["void_counts"][m]
    ]
    total = sum((row["amount"] for row in takings), Decimal("0.00"))
    return {"shift": shift, "takings": takings, "total": total, "sales": summary["vends"]}


def finance_panel(user: Any) -> dict[str, Any]:
    """Today's takings (net of reversals, as the dashboard), and the requests awaiting a decision."""
    from prepay.reports import queries
    from prepay.vending.models import Adjustment, ApprovalStatus, Reversal

    today = queries.today_sales(user, queries.local_today())
    waiting = 0
    if holds(user, "reversal.approve"):
        # one's own requests wait for someone else's decision (nobody approves their own)
        waiting = (
            Reversal.objects.for_user(user, "reversal.approve")  # type: ignore[attr-defined]
            .filter(status=ApprovalStatus.REQUESTED)
            .exclude(requested_by=user)
            .count()
            + Adjustment.objects.for_user(user, "reversal.approve")  # type: ignore[attr-defined]
            .filter(status=ApprovalStatus.REQUESTED)
            .exclude(requested_by=user)
            .count()
        )
    return {
        "total": today["total"],
        "count": today["count"],
        "waiting": waiting,
        "day": queries.local_today(),
    }


def clerk_panel(user: Any) -> dict[str, Any]:
    """The clerk's requests awaiting a decision, credit still to deliver, failed remote commands."""
    from prepay.telemetry import problems
    from prepay.vending import deliveries
    from prepay.vending.models import Adjustment, ApprovalStatus, CreditDelivery, Reversal

    # the user's own requests, in the sites they may still see (a request left behind in a site
    # they no longer hold stays out, as the account page it links to would answer 404)
    reversals = (
        Reversal.objects.for_user(user)  # type: ignore[attr-defined]
        .filter(requested_by=user, status=ApprovalStatus.REQUESTED)
        .select_related("account")
        .order_by("requested_at")
    )
    adjustments = (
        Adjustment.objects.for_user(user)  # type: ignore[attr-defined]
        .filter(requested_by=user, status=ApprovalStatus.REQUESTED)
        .select_related("account")
        .order_by("requested_at")
    )
    waiting = deliveries.pending_deliveries(CreditDelivery.objects.for_user(user))  # type: ignore[attr-defined]
    return {
        "reversals": list(reversals[:SHOWN]),
        "reversal_count": reversals.count(),
        "adjustments": list(adjustments[:SHOWN]),
        "adjustment_count": adjustments.count(),
        "deliveries": list(waiting.select_related("account").order_by("created_at")[:SHOWN]),
        "delivery_count": waiting.count(),
        "commands": problems.for_user(user, "account.lifecycle", limit=SHOWN),
    }


def panels(user: Any) -> dict[str, Any]:
    """The panels ``user``'s roles call for (a key is absent when the user holds no such role)."""
    out: dict[str, Any] = {}
    if holds(user, "vend.sell"):
        out["cashier"] = cashier_panel(user)
    if holds(user, "reports.view"):
        out["finance"] = finance_panel(user)
    if holds(user, "account.lifecycle"):
        out["clerk"] = clerk_panel(user)
    return out
