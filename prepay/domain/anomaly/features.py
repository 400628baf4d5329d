"""An account's statistical features on day D from its daily use: the seasonal baseline, the streaks of
low and of zero days, and the figures compared with its peers.

This is the reference (and the SQLite path); ``prepay.analytics.features`` computes the same on
PostgreSQL with ``percentile_cont`` and window functions. Both must agree to the last bit on the
medians (see :mod:`.stats`), so the arithmetic below is written in the order the SQL evaluates it.

Windows, with R = ``recent_days``, B = ``baseline_days``, L = ``lookback_days`` (all in days, D included
in the recent window):

* recent: (D − R, D]; baseline: (D − R − B, D − R]; streak lookback: (D − L, D];
* a year ago (364 days, so weekdays line up): recent (D − 364 − R, D − 364] and baseline
  (D − 364 − R − B, D − 364 − R].

Baseline: the median (and MAD) of the baseline days' use; a weekday's median when that weekday has at
least :data:`MIN_WEEKDAY_SAMPLES` baseline days, else the overall median; times the **month factor**
= median a year ago (recent) ÷ median a year ago (baseline), clamped to [0.5, 2], when a year ago has
at least ⌈R/2⌉ recent and ``min_history_days`` baseline days of data and a positive baseline median —
else 1. So the expected use of a day follows its weekday and the season the account had last year.

Streaks count days with data back from D; a day without readings neither extends nor breaks one.
A day is *low* when its expected use is at least ``min_baseline`` and ``use × 100 < (100 − drop) ×
expected``; *zero* when the meter answered, the relay was never seen open and use ≤ ``near_zero``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from prepay.domain.anomaly.stats import mad, median

__all__ = [
    "MIN_WEEKDAY_SAMPLES",
    "YEAR",
    "DayUse",
    "Stats",
    "Windows",
    "account_stats",
    "seasonal_baseline",
    "size_band",
]

MIN_WEEKDAY_SAMPLES = 3
YEAR = 364
FACTOR_MIN, FACTOR_MAX = 0.5, 2.0


@dataclass(frozen=True)
class DayUse:
    """One account-day: use (Wh), readings, readings that saw the relay open."""

    usage: int
    readings: int
    open_readings: int = 0


@dataclass(frozen=True)
class Windows:
    recent_days: int = 7
    baseline_days: int = 56
    lookback_days: int = 28
    min_history_days: int = 14
    drop_percent: int = 70
    min_baseline: int = 500  # Wh/day
    near_zero: int = 100  # Wh/day

    def recent(self, day: date) -> tuple[date, date]:
        """(exclusive start, inclusive end) of the recent window."""
        return day - timedelta(days=self.recent_days), day

    def baseline(self, day: date) -> tuple[date, date]:
        end = day - timedelta(days=self.recent_days)
        return end - timedelta(days=self.baseline_days), end

    def lookback(self, day: date) -> tuple[date, date]:
        return day - timedelta(days=self.lookback_days), day

    @property
    def min_recent(self) -> int:
        return math.ceil(self.recent_days / 2)

    def earliest(self, day: date) -> date:
        """The first day any window reaches (a year ago's baseline), exclusive."""
        lo, _ = self.baseline(day - timedelta(days=YEAR))
        return min(lo, self.lookback(day)[0])


@dataclass(frozen=True)
class Stats:
    baseline_days: int = 0
    median: float | None = None
    mad: float | None = None
    factor: float = 1.0
    low_streak: int = 0
    low_usage: int = 0
    low_expected: float = 0.0
    zero_streak: int = 0
    zero_usage: int = 0
    recent_days: int = 0
    recent_usage: int = 0

    @property
    def recent_mean(self) -> float | None:
        """Mean use per day over the recent window (Wh), when it has enough days."""
        return self.recent_usage / self.recent_days if self.recent_days else None


def _between(days: Mapping[date, DayUse], window: tuple[date, date]) -> list[DayUse]:
    lo, hi = window
    return [u for d, u in days.items() if lo < d <= hi]


def _factor(days: Mapping[date, DayUse], day: date, w: Windows) -> float:
    ago = day - timedelta(days=YEAR)
    recent = [u.usage for u in _between(days, w.recent(ago))]
    base = [u.usage for u in _between(days, w.baseline(ago))]
    if len(recent) < w.min_recent or len(base) < w.min_history_days:
        return 1.0
    top, bottom = median(recent), median(base)
    if top is None or bottom is None or bottom <= 0:
        return 1.0
    return max(FACTOR_MIN, min(FACTOR_MAX, top / bottom))


def _expected(days: Mapping[date, DayUse], day: date, w: Windows) -> tuple[dict[int, float], float, float]:
    """Weekday medians (ISO weekday → median), the overall median and the month factor."""
    lo, hi = w.baseline(day)
    base = [(d, u.usage) for d, u in days.items() if lo < d <= hi]
    overall = median(v for _, v in base)
    assert overall is not None
    weekdays: dict[int, float] = {}
    for wd in range(1, 8):
        vals = [v for d, v in base if d.isoweekday() == wd]
        if len(vals) >= MIN_WEEKDAY_SAMPLES:
            weekdays[wd] = median(vals)  # type: ignore[assignment]
    return weekdays, overall, _factor(days, day, w)


def seasonal_baseline(
    days: Mapping[date, DayUse], day: date, w: Windows
) -> tuple[dict[int, float], float, float] | None:
    """The baseline in force on ``day``: weekday medians, the overall median and the month factor —
    ``None`` without ``min_history_days`` of baseline data. ``expected(d) = weekdays.get(iso weekday,
    overall) × factor``."""
    if len(_between(days, w.baseline(day))) < w.min_history_days:
        return None
    return _expected(days, day, w)


def _streak(flags: list[tuple[bool, int, float]]) -> tuple[int, int, float]:
    """Length, Σ use and Σ expected of the run of True flags at the end of ``flags`` (oldest first)."""
    n, used, expected = 0, 0, 0.0
    for flag, u, e in reversed(flags):
        if not flag:
            break
        n += 1
        used += u
        expected += e
    return n, used, expected


def account_stats(days: Mapping[date, DayUse], day: date, w: Windows) -> Stats:
    """The account's features on ``day`` from its daily use (days without data are absent)."""
    recent = _between(days, w.recent(day))
    lo, hi = w.lookback(day)
    look = sorted((d, u) for d, u in days.items() if lo < d <= hi)
    zero = _streak(
        [(u.readings > 0 and u.open_readings == 0 and u.usage <= w.near_zero, u.usage, 0.0) for _, u in look]
    )
    out = Stats(
        zero_streak=zero[0],
        zero_usage=zero[1],
        recent_days=len(recent),
        recent_usage=sum(u.usage for u in recent),
    )
    base = [u.usage for u in _between(days, w.baseline(day))]
    if len(base) < w.min_history_days:
        return Stats(**{**out.__dict__, "baseline_days": len(base)})
    weekdays, overall, factor = _expected(days, day, w)
    flags = []
    for d, u in look:
        expected = weekdays.get(d.isoweekday(), overall) * factor
        low = expected >= w.min_baseline and u.usage * 100 < (100 - w.drop_percent) * expected
        flags.append((low, u.usage, expected))
    n, used, expected_sum = _streak(flags)
    return Stats(
        **{
            **out.__dict__,
            "baseline_days": len(base),
            "median": overall,
            "mad": mad(base, overall),
            "factor": factor,
            "low_streak": n,
            "low_usage": used,
            "low_expected": expected_sum,
        }
    )


def size_band(area: float | int | None, bands: tuple[int, ...]) -> int:
    """Index of the unit-size band ``area`` (m²) falls in: 0 below the first bound, 1 below the second …"""
    a = float(area or 0)
    return sum(1 for b in bands if a >= b)
