"""Readings a clerk types (配表 / 换表 / 过户 / 销户), checked against the meter's last polled reading.

The forms are prefilled with the meter's newest reading (``prepay.telemetry.models.MeterReading``,
its register), and a typed reading far from it — below it, or above it by more than the most a
meter of its kind sensibly uses a day (:data:`DAILY_MAX`, in energy, ÷ the multiplier for register
units) times the days since — asks the clerk to confirm it before the action runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from prepay.meters.choices import MeterKind
from prepay.telemetry.models import MeterReading

#: the most energy (kWh) or water (m³) a meter of a kind is taken to use in a day
DAILY_MAX: dict[str, Decimal] = {
    MeterKind.SINGLE_PHASE: Decimal("200"),
    MeterKind.THREE_PHASE: Decimal("5000"),
    MeterKind.WATER: Decimal("20"),
}


@dataclass(frozen=True)
class LastReading:
    """A meter's newest polled reading: the register and when it was read."""

    register: Decimal
    read_at: datetime


def last_reading(meter: Any) -> LastReading | None:
    """The newest reading of ``meter`` (None without a meter or a reading): one query."""
    if meter is None:
        return None
    row = (
        MeterReading.objects.filter(meter=meter)
        .order_by("-read_at")
        .values_list("register", "read_at")
        .first()
    )
    return LastReading(row[0], row[1]) if row else None


def most_since(meter: Any, last: LastReading, now: datetime | None = None) -> Decimal:
    """The most the register may sensibly have grown since ``last``: a day's maximum for the meter's
    kind, in register units, times the days since (at least one)."""
    now = now or timezone.now()
    days = max(1, math.ceil((now - last.read_at).total_seconds() / 86400))
    daily = DAILY_MAX.get(meter.model.kind, DAILY_MAX[MeterKind.THREE_PHASE])
    return daily / max(1, meter.multiplier) * days


def warning(meter: Any, typed: Decimal | None, last: LastReading | None, label: str) -> str | None:
    """Why ``typed`` (the reading of ``label``) needs confirming against ``last``, or None when it is
    near enough (or there is nothing to compare with)."""
    if meter is None or typed is None or last is None:
        return None
    when = timezone.localtime(last.read_at).strftime("%Y-%m-%d %H:%M")
    values = {"what": label, "typed": typed, "last": last.register, "when": when, "meter": meter.serial}
    if typed < last.register:
        return (
            _(
                "%(what)s %(typed)s is below the last reading polled from meter %(meter)s (%(last)s at "
                "%(when)s)."
            )
            % values
        )
    most = most_since(meter, last)
    if typed - last.register > most:
        return _(
            "%(what)s %(typed)s is far above the last reading polled from meter %(meter)s (%(last)s "
            "at %(when)s): more than %(most)s since, the most such a meter uses."
        ) % (values | {"most": most.quantize(Decimal("0.1"))})
    return None
