"""Token identifier (TID): minutes since the base date, 24 bits.

Contract:

* ``TID = floor((issued_at - base_date) / 1 minute)``; seconds are discarded.  Base dates are
  1993-01-01, 2014-01-01 and 2035-01-01 at 00:00.  Issue times are naive wall-clock datetimes
  on one fixed-offset clock (no DST); aware datetimes are converted to naive UTC.
* Reserved minute: an issue time at exactly hour 0, minute 1 (00:01) gets the TID of 00:02.
* A time before the base date or at/after 2**24 minutes past it raises
  :class:`InvalidTidError` (the TID rollover: move to the next base date with a key change).
* Several tokens for one meter in the same minute need distinct TIDs: :class:`TidSequencer`
  hands out strictly increasing TIDs (one minute later per extra token).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .errors import InvalidInputError, InvalidTidError
from .keys import check_base_date

TID_MAX = (1 << 24) - 1
_MINUTES_PER_DAY = 1440


def base_datetime(base_date: int) -> datetime:
    """Naive datetime of the base date's origin (Jan 1, 00:00)."""
    return datetime(check_base_date(base_date), 1, 1)


def _naive(dt: datetime) -> datetime:
    if not isinstance(dt, datetime):
        raise InvalidInputError("issue time must be a datetime")
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def tid_from_datetime(issued_at: datetime, base_date: int = 1993) -> int:
    """TID for ``issued_at`` (see module contract), including the reserved-minute rule."""
    delta = _naive(issued_at) - base_datetime(base_date)
    minutes = delta.days * _MINUTES_PER_DAY + delta.seconds // 60
    if minutes < 0:
        raise InvalidTidError(f"issue time is before the base date {base_date}-01-01")
    if minutes % _MINUTES_PER_DAY == 1:  # exactly 00:01 -> TID of 00:02 (reserved TID rule)
        minutes += 1
    if minutes > TID_MAX:
        raise InvalidTidError(f"issue time is beyond the TID range of base date {base_date}")
    return minutes


def datetime_from_tid(tid: int, base_date: int = 1993) -> datetime:
    """Naive issue time (to the minute) encoded by ``tid``."""
    check_tid(tid)
    return base_datetime(base_date) + timedelta(minutes=tid)


def check_tid(tid: int) -> int:
    """Validate a raw 24-bit TID."""
    if isinstance(tid, bool) or not isinstance(tid, int):
        raise InvalidInputError("TID must be an integer")
    if not 0 <= tid <= TID_MAX:
        raise InvalidTidError("TID must be between 0 and 16777215")
    return tid


def parse_issued_at(text: str) -> datetime:
    """Parse ``YYYY-MM-DDTHH:MM[:SS]`` (a space instead of ``T`` is accepted)."""
    if not isinstance(text, str):
        raise InvalidInputError("issued_at must be an ISO date-time string")
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInputError("issued_at must look like 2004-03-01T13:55") from None


def format_issued_at(dt: datetime) -> str:
    """``YYYY-MM-DDTHH:MM`` form used in machine output."""
    return dt.strftime("%Y-%m-%dT%H:%M")


def key_expired(tid: int, ken: int) -> bool:
    """True when a key with expiry number ``ken`` may not accept ``tid`` (``TID >> 16 > KEN``)."""
    return (tid >> 16) > ken


class TidSequencer:
    """Hands out strictly increasing TIDs for one meter (vending-side uniqueness).

    ``next(clock_tid)`` returns ``clock_tid`` when it is newer than the last TID issued, else one
    minute after the last one (skipping the reserved 00:01 minute).  Not thread-safe.
    """

    __slots__ = ("last",)

    def __init__(self, last: int | None = None) -> None:
        self.last = last

    def next(self, clock_tid: int) -> int:
        """Allocate the TID to use for a token whose clock TID is ``clock_tid``."""
        tid = check_tid(clock_tid)
        if self.last is not None and tid <= self.last:
            tid = self.last + 1
            if tid % _MINUTES_PER_DAY == 1:
                tid += 1
        check_tid(tid)
        self.last = tid
        return tid
