"""Pure helpers for reports: reporting periods, recovery rate, arrears ageing.

Contracts:
- A *ten-day period* (旬) is 1–10, 11–20 or 21–end of a month; the sales detail report defaults to
  the one containing today. Periods are closed date ranges ``[start, end]``.
- The *recovery rate* is ``collected ÷ due`` as an exact Decimal fraction (None when nothing is due);
  what goes into ``collected`` and ``due`` is defined by the caller (see prepay/reports/queries.py
  and docs/reports.md).
- *Ageing* puts a number of days in arrears into one of the buckets 0–30, 31–60, 61–90, over 90.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Period:
    """A closed range of calendar days."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


def last_day_of_month(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def ten_day_period(day: date) -> Period:
    """The ten-day period (上旬 1–10, 中旬 11–20, 下旬 21–end) containing ``day``."""
    if day.day <= 10:
        return Period(day.replace(day=1), day.replace(day=10))
    if day.day <= 20:
        return Period(day.replace(day=11), day.replace(day=20))
    return Period(day.replace(day=21), last_day_of_month(day))


def previous_ten_day_period(period: Period) -> Period:
    """The ten-day period just before ``period`` (which must itself be a ten-day period's start)."""
    return ten_day_period(period.start - timedelta(days=1))


def month_period(day: date) -> Period:
    """The calendar month containing ``day``."""
    return Period(day.replace(day=1), last_day_of_month(day))


def parse_month(text: str) -> date:
    """``YYYY-MM`` → the first day of that month; ValueError for anything else."""
    parts = text.strip().split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a month (YYYY-MM): {text!r}")
    return date(int(parts[0]), int(parts[1]), 1)


def recovery_rate(collected: Decimal, due: Decimal) -> Decimal | None:
    """``collected ÷ due`` as a fraction rounded half-up to 4 places (0.9875 = 98.75 %).

    None when nothing is due (a rate of 0/0 means nothing; it is shown as "—", never as 100 %).
    A negative ``due`` (more credited back than charged) is also None: the ratio would be meaningless.
    """
    if due <= 0:
        return None
    return (collected / due).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


#: ageing buckets: (key, first day, last day or None for open-ended)
AGEING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 0, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("90+", 91, None),
)


def ageing_bucket(days: int) -> str:
    """The bucket key for ``days`` in arrears (negative days are treated as 0)."""
    days = max(days, 0)
    for key, first, last in AGEING_BUCKETS:
        if days >= first and (last is None or days <= last):
            return key
    raise AssertionError("unreachable: the last bucket is open-ended")
