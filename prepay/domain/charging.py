"""Helpers for charging consumption (pure): splitting a charge period at cycle and tariff boundaries,
and scaling tiers for households (water tiers per person).

Contract:

* :func:`split_period` cuts ``[start, end)`` at every boundary strictly inside it; the pieces are
  half-open, in order, and cover the period exactly. Boundaries are aware datetimes.
* :func:`cycle_starts` lists the wall-clock midnights in ``tz`` at which tier cycles (month or year)
  begin inside ``(start, end)``.
* :func:`round_pieces` turns the exact prices of consecutive charge pieces into money that adds up:
  the pieces of one run share the rounded whole by the largest-remainder rule, and what rounding left
  over (the *carry*, less than one fen either way) is handed to the next run. So a stretch of
  consumption costs the same whether it is billed in one piece or in five, in one run or in many.
* :func:`scale_tiers` multiplies every block's ``upto`` (and the flat-price quota) by ``factor`` — a
  household of 5 on a tariff whose tiers are per person gets five times each block. ``factor`` 1
  returns the tariff unchanged.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime, tzinfo
from decimal import Decimal

from prepay.domain.apportionment import MONEY_STEP, allocate
from prepay.domain.money import MONEY_PLACES, quantize
from prepay.domain.tariffs import Cycle, Tariff, cycle_bounds

__all__ = ["ChargingError", "cycle_of", "cycle_starts", "round_pieces", "scale_tiers", "split_period"]

CARRY_PLACES = 12  # the carry is kept to 10⁻¹² yuan: far below anything rounding can notice


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


def round_pieces(
    exact: Sequence[Decimal], *, carry: Decimal = Decimal(0), rounding: str = decimal.ROUND_HALF_UP
) -> tuple[list[Decimal], list[Decimal]]:
    """Money for consecutive pieces whose exact prices are ``exact`` (each ≥ 0, any precision).

    ``carry`` is what earlier runs of the same meter left unbilled (exact − billed, from the
    previous result; 0 for the first run). The run bills ``W = round(carry + Σ exact)`` in whole fen
    (never below zero; zero when there is no new consumption), shared among the pieces by the
    largest-remainder rule on their exact prices — so a piece with no consumption gets nothing and
    every piece is within one fen of its exact share. Returns ``(amounts, carries)``: the money per
    piece and the carry after each piece (the last one is the next run's ``carry``).

    Because each run rounds the running total rather than its own pieces, the money billed over any
    number of runs and pieces is ``round(Σ all exact)`` up to one rounding step: the calendar or the
    polling rate cannot change what the same consumption costs.
    """
    if any(e < 0 for e in exact):
        raise ChargingError("an exact price must not be negative")
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        new = sum(exact, Decimal(0))
        whole = Decimal("0.00")
        if new > 0:
            whole = max(quantize(carry + new, MONEY_PLACES, rounding), Decimal("0.00"))
        if whole > 0:
            amounts = allocate(whole, [(i, e) for i, e in enumerate(exact)], step=MONEY_STEP)
        else:
            amounts = [Decimal("0.00")] * len(exact)
        carries: list[Decimal] = []
        running = carry
        for e, a in zip(exact, amounts, strict=True):
            running += e - a
            carries.append(
                running.quantize(Decimal(1).scaleb(-CARRY_PLACES), rounding=decimal.ROUND_HALF_EVEN)
            )
    return amounts, carries
