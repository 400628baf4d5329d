"""What billing tells the tariffs app (registered in ``BillingConfig.ready``): which tariff versions
priced charges, and the per-person tier basis that carries over to a tariff's new version."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Max
from django.utils import timezone

from prepay.billing.models import Charge, TierBasis


def charges_priced_by(tariff_ids: list[int]) -> tuple[int, date | None]:
    """(charges priced by these tariff versions, the local date of the last one or None); a charge
    ending at midnight priced the day before."""
    found = Charge.objects.filter(tariff_id__in=tariff_ids).aggregate(n=Count("pk"), at=Max("period_end"))
    at = found["at"]
    return found["n"], timezone.localdate(at - timedelta(microseconds=1)) if at is not None else None


def carry_tier_basis(sender: Any, *, base: Any, row: Any, after: dict[str, Any], **kwargs: Any) -> None:
    """A new version of a tariff keeps the old one's per-person tier basis (``tariffs.version_added``)."""
    basis = TierBasis.objects.filter(tariff=base).first()
    if basis is not None:
        TierBasis.objects.create(tariff=row, per_person=basis.per_person)
        after["tiers_per_person"] = basis.per_person
