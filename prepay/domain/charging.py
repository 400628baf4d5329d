"""Helpers for charging consumption (pure): splitting a charge period at cycle and tariff boundaries,
and scaling tiers for households (water tiers per person).

Contract:

* :func:`split_period` cuts ``[start, end)`` at every boundary strictly inside it; the pieces are
  half-open, in order, and cover the period exactly. Boundaries are aware datetimes.
* :func:`cycle_starts` lists the wall-clock midnights in ``tz`` at which tier cycles (month or year)
  begin inside ``(start, end)``.
* :func:`scale_tiers` multiplies every block's ``upto`` (and the flat-price quota) by ``factor`` — a
  household of 5 on a tariff whose tiers are per person gets five times each block. ``factor`` 1
  returns the tariff unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, tzinfo

from prepay.domain.tariffs import Cycle, Tariff, cycle_bounds

__all__ = ["ChargingError", "cycle_of", "cycle_starts", "scale_tiers", "split_period"]


class ChargingError(ValueError):
    """A period or factor is invalid."""


def split_period(
    start: datetime, end: datetime, boundaries: Iterable[datetime]
) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` cut at the boundaries strictly inside it."""
    if end <= start:
        raise ChargingError("the period must end after it starts")
    cuts = sorted({b for b in boundaries if start < b < end})
    points = [start, *cuts, end]
    return list(zip(points, points[1:], strict=False))


def cycle_starts(cycle: Cycle | str, start: datetime, end: datetime, tz: tzinfo) -> list[datetime]:
    """Midnights (aware, in ``tz``) at which a new tier cycle begins strictly inside ``(start, end)``."""
    out: list[datetime] = []
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    while True:
        _first, nxt = cycle_bounds(cycle, day)
        if nxt > last:
            break
        at = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)
        if start < at < end:
            out.append(at)
        day = nxt
    return out


def cycle_of(cycle: Cycle | str, at: datetime, tz: tzinfo) -> date:
    """The first day of the tier cycle containing instant ``at`` (wall clock in ``tz``)."""
    return cycle_bounds(cycle, at.astimezone(tz).date())[0]


def scale_tiers(tariff: Tariff, factor: int) -> Tariff:
    """The tariff with block limits and quota multiplied by ``factor`` (a whole number ≥ 1)."""
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise ChargingError(f"factor must be a whole number ≥ 1, not {factor!r}")
    if factor == 1:
        return tariff
    blocks = tuple(replace(b, upto=None if b.upto is None else b.upto * factor) for b in tariff.blocks)
    quota = None if tariff.quota is None else replace(tariff.quota, energy=tariff.quota.energy * factor)
    return replace(tariff, blocks=blocks, quota=quota)
