"""What sales tell the tariffs: the tier position of an account's cycle, and which tariff versions
priced sales (registered with ``prepay.tariffs.engine.register_pricer`` when the app is ready)."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from prepay.common.compiled import CompiledQuery
from prepay.domain.tariffs import Tariff as EngineTariff
from prepay.domain.tariffs import cycle_bounds
from prepay.vending.models import Vend, VendStatus


def _cycle_sales(*, account_id: int, lo: datetime, hi: datetime) -> QuerySet[Any]:
    """The account's sales in ``[lo, hi)`` that were not reversed: what :func:`cycle_position` reads."""
    return (
        Vend.objects.filter(account_id=account_id, created_at__gte=lo, created_at__lt=hi)
        .exclude(status=VendStatus.REVERSED)
        .values_list("status", "amount", "created_at", "breakdown")
    )


#: read on every sale: compiled once per process (``prepay.common.compiled``)
_CYCLE_SALES = CompiledQuery("vending.cycle_sales", _cycle_sales)


def cycle_position(
    account: Any, tariff: EngineTariff, on_date: date, *, since: datetime | None = None
) -> tuple[Decimal, Decimal, Decimal | None]:
    """(energy counted towards the tiers, flat-price quota used) in the cycle containing ``on_date``,
    from the account's completed vends in that cycle (prepaid practice: purchases advance the tiers),
    and the money of its sales not reversed made from ``since`` (the daily limit's day start; None
    without ``since`` or when it lies before the cycle) — one read of the cycle's sales for both."""
    start, end = cycle_bounds(tariff.cycle, on_date)
    used = Decimal(0)
    quota = Decimal(0)
    tz = timezone.get_current_timezone()  # local midnights: a range on created_at, not a date per row
    lo = datetime.combine(start, time.min, tzinfo=tz)
    sold = Decimal("0.00") if since is not None and since >= lo else None
    vends = _CYCLE_SALES.rows(account_id=account.pk, lo=lo, hi=datetime.combine(end, time.min, tzinfo=tz))
    for status, amount, at, breakdown in vends:
        if sold is not None and at >= since:  # type: ignore[operator]
            sold += amount
        if status not in (VendStatus.COMPLETED, VendStatus.PENDING_APPROVAL):
            continue
        for line in (breakdown or {}).get("lines", []):
            if line.get("key") == "quota":
                quota += Decimal(line["energy"])
            else:
                used += Decimal(line["energy"])
    return used, quota, sold


def sales_priced_by(tariff_ids: list[int]) -> tuple[int, date | None]:
    """(sales priced by these tariff versions, the local date of the last one or None)."""
    found = Vend.objects.filter(tariff_id__in=tariff_ids).aggregate(n=Count("pk"), at=Max("created_at"))
    return found["n"], timezone.localdate(found["at"]) if found["at"] is not None else None
