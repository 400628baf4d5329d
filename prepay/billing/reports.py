"""Query functions the screens render (issue 7): line-loss report rows, apportionment statements,
arrears list. Read-only; callers scope what they pass in (``for_user``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import timezone

from prepay.billing.actions import local_midnight
from prepay.billing.models import ApportionmentRun, Bill, SubMeter
from prepay.billing.readings import meter_energy
from prepay.customers.choices import AccountStatus
from prepay.domain.lineloss import LossRow, loss_report
from prepay.meters.models import Meter
from prepay.vending import ledger


def line_loss(site_id: int, start: date, end: date) -> list[LossRow[Meter]]:
    """Loss rows over ``[start, end)`` for every master/sub-meter tree of the site (any depth).

    Each branch is flagged against its master's own threshold (``SubMeter.loss_threshold``).
    """
    nodes = list(SubMeter.objects.filter(meter__site_id=site_id).select_related("meter", "master"))
    parents: dict[Meter, Meter | None] = {}
    thresholds: dict[int, Decimal] = {}
    for n in nodes:
        parents[n.meter] = n.master
        thresholds[n.meter_id] = Decimal(n.loss_threshold)
        if n.master is not None and n.master not in parents:
            parents[n.master] = None
    lo, hi = local_midnight(start), local_midnight(end)
    energy = {m: meter_energy(m, lo, hi) for m in parents}
    rows = loss_report(parents, energy, threshold_percent="0")
    out = []
    for r in rows:
        limit = thresholds.get(r.meter.pk, Decimal("5"))
        flagged = (r.loss is not None and r.loss < 0) or (
            r.loss_percent is not None and r.loss_percent > limit
        )
        out.append(LossRow(**{**r.__dict__, "flagged": flagged}))
    return out


@dataclass(frozen=True)
class StatementRow:
    unit: str
    account: str
    method: str
    basis: str
    basis_total: str
    fraction: str
    public_energy: Decimal
    energy: Decimal
    price: str
    amount: Decimal
    explanation: str


def apportionment_statement(run: ApportionmentRun) -> list[StatementRow]:
    """One row per unit saying what it was charged and how that was computed."""
    rows = []
    for s in run.shares.select_related("unit", "account").order_by("unit__number"):
        explanation = f"{run.total_energy} × {s.basis} / {run.basis_total} = {s.energy}; {s.energy} × {run.price} ≈ {s.amount}"
        if run.fallback:
            explanation += f" ({run.fallback})"
        rows.append(
            StatementRow(
                unit=str(s.unit),
                account=s.account.number if s.account else "",
                method=run.method,
                basis=s.basis,
                basis_total=run.basis_total,
                fraction=s.fraction,
                public_energy=run.total_energy,
                energy=s.energy,
                price=run.price,
                amount=s.amount,
                explanation=explanation,
            )
        )
    return rows


def arrears(accounts: Any) -> list[dict[str, Any]]:
    """Accounts (a queryset, already scoped) that owe money: negative balance or overdue bills."""
    today = timezone.localdate()
    out = []
    for acc in accounts.exclude(status=AccountStatus.CLOSED).select_related("customer").order_by("number"):
        balance = ledger.balance_of(acc)
        overdue = Bill.objects.filter(account=acc, settled_at__isnull=True, due_date__lt=today)
        if balance < 0 or overdue.exists():
            out.append(
                {
                    "account": acc.number,
                    "customer": acc.customer.name,
                    "balance": balance,
                    "overdue_bills": overdue.count(),
                    "oldest_due": overdue.order_by("due_date").values_list("due_date", flat=True).first(),
                }
            )
    return out


__all__ = ["StatementRow", "apportionment_statement", "arrears", "line_loss"]
