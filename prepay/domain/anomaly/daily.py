"""One meter's day from its readings: the reference rules the SQL of ``prepay.analytics.daily`` follows.

Everything is in the database's integer units: ``register`` and ``energy`` in thousandths (Wh for
kWh), ``balance`` in hundredths (fen, or 0.01 register units as the meter reports it). Energy is real
energy (register × CT × PT), so a day's figures never need the multiplier again.

Contract of :func:`summarise_day`:

* The points are the day's readings in time order, optionally preceded by the previous day's last
  reading (``prev=True``). Intervals join consecutive points, so the interval that ends on the day's
  first reading counts on this day; a previous point only opens an interval, it is never counted as a
  reading.
* An interval whose energy does not fall is *forward* (its energy is use). One that falls is a
  **rollover** when the earlier register is in the top tenth of the register's range and the later in
  the bottom tenth (use = the wrap-around); else a **reset** when the later register is below 5 % of the
  earlier one; else the register ran **backwards** (no use; the fall is counted). After a fall the next
  interval is measured from the fallen value (no high-water mark: this is evidence, not billing).
* **Bypass** use: a forward interval whose both ends saw the relay open, or the meter's own credit at
  or below zero, is energy the meter recorded while it should have been cut off.
* **Credit added**: rises of the meter's own credit register (purchases entered); falls are use.
* The interval with the highest average power (ties: the earliest) is kept as the day's largest
  step; the largest reset fall (ties: the earliest) likewise.
* Seconds between readings are whole epoch seconds (fractions truncated), as both databases give them.
* Time-of-use deltas count rises only; a register the day's readings never carry is ``None``.

:func:`relay_open_at` says whether the relay was open at an instant from the relay-change events.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "DaySummary",
    "Point",
    "RelayChange",
    "register_capacity",
    "relay_open_at",
    "summarise_day",
]

#: a register above this share of its range that falls below (1 − it) wrapped round
ROLLOVER_TENTHS = 9
#: a fall to below 1/RESET_DIVISOR of the previous register is a reset (清零), not a backwards step
RESET_DIVISOR = 20


def register_capacity(int_digits: int) -> int:
    """The register's range in stored units (thousandths of a register unit): 10**digits × 1000."""
    return 10**int_digits * 1000


def epoch_seconds(at: datetime) -> int:
    """Whole seconds since 1970 (UTC), fractions truncated."""
    return calendar.timegm(at.utctimetuple())


@dataclass(frozen=True)
class Point:
    at: datetime
    register: int
    energy: int
    balance: int | None = None
    tou: tuple[int | None, int | None, int | None, int | None] = (None, None, None, None)
    open: bool = False
    prev: bool = False


@dataclass(frozen=True)
class RelayChange:
    at: datetime
    before: str
    after: str


def relay_open_at(changes: Sequence[RelayChange], link_state: str, at: datetime) -> bool:
    """True when the relay was open at ``at``: the state after the last change at or before ``at``;
    before the first change, the state that change started from; without changes, the link's state."""
    state = changes[0].before if changes else link_state
    for ch in changes:
        if ch.at <= at:
            state = ch.after
        else:
            break
    return state == "open"


@dataclass
class DaySummary:
    readings: int = 0
    open_readings: int = 0
    exhausted_readings: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    usage: int = 0
    backwards: int = 0
    backwards_steps: int = 0
    reset_steps: int = 0
    reset_drop: int | None = None
    reset_at: datetime | None = None
    reset_from: int | None = None
    reset_to: int | None = None
    max_step: int | None = None
    max_step_secs: int | None = None
    max_step_at: datetime | None = None
    bypass: int = 0
    bypass_steps: int = 0
    credit_added: int = 0
    tou: list[int | None] = field(default_factory=lambda: [None, None, None, None])
    last: Point | None = None


def _kind(p: Point, c: Point, capacity: int) -> str:
    if c.energy >= p.energy:
        return "fwd"
    if p.register * 10 >= capacity * ROLLOVER_TENTHS and c.register * 10 < capacity:
        return "roll"
    if c.register * RESET_DIVISOR < p.register:
        return "reset"
    return "back"


def _interval(s: DaySummary, p: Point, c: Point, capacity: int, multiplier: int) -> None:
    kind = _kind(p, c, capacity)
    d = c.energy - p.energy
    use = d if kind == "fwd" else d + capacity * multiplier if kind == "roll" else 0
    s.usage += use
    if kind == "back":
        s.backwards += -d
        s.backwards_steps += 1
    elif kind == "reset":
        s.reset_steps += 1
        if s.reset_drop is None or -d > s.reset_drop:
            s.reset_drop, s.reset_at, s.reset_from, s.reset_to = -d, c.at, p.energy, c.energy
    secs = epoch_seconds(c.at) - epoch_seconds(p.at)
    if use > 0 and secs > 0:
        power = use * 3600 / secs
        if s.max_step is None or power > s.max_step * 3600 / (s.max_step_secs or 1):
            s.max_step, s.max_step_secs, s.max_step_at = use, secs, c.at
    exhausted = p.balance is not None and c.balance is not None and p.balance <= 0 and c.balance <= 0
    if use > 0 and ((p.open and c.open) or exhausted):
        s.bypass += use
        s.bypass_steps += 1
    if p.balance is not None and c.balance is not None and c.balance > p.balance:
        s.credit_added += c.balance - p.balance
    for i in range(4):
        a, b = p.tou[i], c.tou[i]
        if a is not None and b is not None and b >= a:
            s.tou[i] = (s.tou[i] or 0) + (b - a)


def summarise_day(points: Sequence[Point], *, capacity: int, multiplier: int) -> DaySummary:
    """The day's figures (see the module contract); ``points`` sorted by time."""
    s = DaySummary()
    real = [p for p in points if not p.prev]
    for p in real:
        s.readings += 1
        s.open_readings += int(p.open)
        s.exhausted_readings += int(p.balance is not None and p.balance <= 0)
    if not real:
        return s
    s.first_at, s.last_at, s.last = real[0].at, real[-1].at, real[-1]
    for p, c in zip(points, points[1:], strict=False):
        _interval(s, p, c, capacity, multiplier)
    for i in range(4):
        if all(p.tou[i] is None for p in real):
            s.tou[i] = None
        elif s.tou[i] is None:
            s.tou[i] = 0
    return s
