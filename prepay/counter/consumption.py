"""Consumption series for the customer view's chart, from stored meter readings.

A reading's ``energy`` is already real energy (register × CT × PT at the time of reading), so the
chart never needs the multiplier. Consumption between two consecutive readings of one meter is
booked on the day (or month) of the later reading. A drop (meter replaced, rollover, backwards) is
booked as zero: the chart shows use, it does not bill (billing uses prepay.domain.metering).

The TOU split (sharp / peak / flat / valley) divides each interval's energy in proportion to the
deltas of the TOU registers, so it adds up to the total whatever unit the registers are kept in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from prepay.domain.money import energy as q_energy

TOU = ("sharp", "peak", "flat", "valley")
ZERO = Decimal("0")


def bucket_of(at: datetime, period: str) -> str:
    """The local day ``YYYY-MM-DD`` or month ``YYYY-MM`` of an aware datetime."""
    local = timezone.localtime(at)
    return local.strftime("%Y-%m" if period == "month" else "%Y-%m-%d")


def series(readings: Iterable[Any], period: str = "day") -> dict[str, Any]:
    """``readings`` ordered by meter then time (objects with meter_id, read_at, energy and TOU fields).

    Returns ``{"period", "buckets": [...], "total": [...], "sharp": [...], ...}`` with strings for
    Decimals (JSON-ready), buckets in ascending order.
    """
    total: dict[str, Decimal] = defaultdict(lambda: ZERO)
    tou: dict[str, dict[str, Decimal]] = {k: defaultdict(lambda: ZERO) for k in TOU}
    prev: Any = None
    for r in readings:
        if prev is not None and prev.meter_id == r.meter_id:
            delta = r.energy - prev.energy
            if delta > 0:
                b = bucket_of(r.read_at, period)
                total[b] += delta
                parts = {
                    k: getattr(r, k) - getattr(prev, k)
                    for k in TOU
                    if getattr(r, k) is not None and getattr(prev, k) is not None
                }
                weight = sum((v for v in parts.values() if v > 0), ZERO)
                if weight > 0:
                    for k, v in parts.items():
                        if v > 0:
                            tou[k][b] += delta * v / weight
        prev = r
    buckets = sorted(total)
    out: dict[str, Any] = {"period": period, "buckets": buckets}
    out["total"] = [str(q_energy(total[b])) for b in buckets]
    for k in TOU:
        out[k] = [str(q_energy(tou[k][b])) for b in buckets] if tou[k] else []
    return out
