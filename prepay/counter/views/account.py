"""The customer view (用户信息): everything about one account on one page.

Meters and installations, purchases with their tokens, the ledger (paged), a consumption chart
(daily / monthly, by TOU period), meter events and the account's audit trail. Readable by anyone who
may see the account; the clerk buttons and the audit trail only show where the user may use them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django_tables2 import RequestConfig

from prepay.audit.models import AuditEvent
from prepay.counter import followup
from prepay.counter.access import may, visible
from prepay.counter.consumption import series
from prepay.counter.tables import LedgerTable
from prepay.customers.choices import AccountMode, AccountStatus
from prepay.customers.models import Account
from prepay.messaging import queries as messaging
from prepay.meters.choices import TokenSystem
from prepay.telemetry import problems
from prepay.telemetry.models import MeterEvent, MeterLink, MeterReading
from prepay.vending import ledger
from prepay.vending.deliveries import account_deliveries
from prepay.vending.models import LedgerEntry, Vend


def _account(request: HttpRequest, pk: int) -> Account:
    return visible(
        request.user,
        Account.objects.select_related("site__group", "customer__customer_type", "unit__building", "tariff"),
        pk,
    )


def audit_trail(account: Account, meter_ids: list[int]) -> Any:
    """Audit events about the account, its vends and reversals, and its meters while installed."""
    vend_ids = [str(v) for v in Vend.objects.filter(account=account).values_list("pk", flat=True)]
    return AuditEvent.objects.filter(
        Q(object_type="customers.account", object_id=str(account.pk))
        | Q(object_type="customers.customer", object_id=str(account.customer_id))
        | Q(object_type="vending.vend", object_id__in=vend_ids)
        | Q(
            object_type="meters.meter",
            object_id__in=[str(m) for m in meter_ids],
            after__account=account.number,
        )
    ).order_by("-id")


@login_required
def account(request: HttpRequest, pk: int) -> HttpResponse:
    acc = _account(request, pk)
    user = request.user
    installations = list(acc.installations.select_related("meter__model").order_by("-started_at"))
    current = next((i for i in installations if i.ended_at is None), None)
    meter_ids = [i.meter_id for i in installations]
    link = MeterLink.objects.filter(meter_id=current.meter_id).first() if current else None
    ledger_table = LedgerTable(
        LedgerEntry.objects.filter(account=acc).select_related("created_by"),
        prefix="ledger-",
        utility=acc.utility,
    )
    RequestConfig(request, paginate={"per_page": 20}).configure(ledger_table)
    can_audit = may(user, "audit.view", acc) or may(user, "account.lifecycle", acc)
    context = {
        "account": acc,
        "balance": ledger.balance_of(acc),
        "tariff": acc.effective_tariff(),
        "installations": installations,
        "current": current,
        # a keypad (STS) meter holds the credit bought: the page says so beside the balance
        "token_meter": acc.mode == AccountMode.LOCAL
        and current is not None
        and current.meter.model.token_system == TokenSystem.STS
        and current.meter.model.has_keypad,
        "link": link,
        "vends": Vend.objects.filter(account=acc)
        .select_related("point", "created_by")
        .prefetch_related("tokens")[:20],
        "ledger_table": ledger_table,
        "events": MeterEvent.objects.filter(meter_id__in=meter_ids).select_related("meter")[:50],
        "audit": audit_trail(acc, meter_ids)[:50] if can_audit else None,
        "can": {
            "lifecycle": acc.status != AccountStatus.CLOSED and may(user, "account.lifecycle", acc),
            "tokens": current is not None and may(user, "token.management", current.meter),
            "sell": acc.status == AccountStatus.OPEN and may(user, "vend.sell", acc),
            "refund": acc.status != AccountStatus.CLOSED and may(user, "reversal.request", acc),
            "protect": may(user, "supply.protect", acc),
        },
        "protection": followup.active_protection(acc),
        "adjustments": followup.adjustment_rows(acc),
        "protections": followup.protection_rows(acc),
        "billing": followup.account_billing(acc),
        "deliveries": account_deliveries(acc),  # credit still to reach the meter (换表, IC cards)
        "account_messages": messaging.about_account(user, acc),  # operator messages about it
        # remote commands retrying, overdue or failed for good: the banner at the top
        "command_problems": problems.for_account(acc),
    }
    return render(request, "counter/account.html", context)


@login_required
def consumption(request: HttpRequest, pk: int) -> JsonResponse:
    """Chart data: ``?period=day`` (default, last 62 days) or ``month`` (last 24 months).

    Only readings taken while each meter served this account count (a meter moved on to another
    account later does not bring its later use here).
    """
    acc = _account(request, pk)
    period = "month" if request.GET.get("period") == "month" else "day"
    since = timezone.now() - timedelta(days=730 if period == "month" else 62)
    windows = Q(pk__in=[])
    for inst in acc.installations.all():
        window = Q(meter_id=inst.meter_id, read_at__gte=inst.started_at)
        if inst.ended_at is not None:
            window &= Q(read_at__lte=inst.ended_at)
        windows |= window
    readings = (
        MeterReading.objects.filter(windows, read_at__gte=since)
        .order_by("meter_id", "read_at")
        .only("meter_id", "read_at", "energy", "sharp", "peak", "flat", "valley")
    )
    return JsonResponse(series(readings, period))
