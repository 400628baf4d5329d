"""Low-credit warnings and cut-off for remote fee control (pure): the two-stage rule in money.

Levels may also be set in energy (kWh, m³ for water — the field's practice: 12 kWh single-phase,
36 kWh three-phase). :func:`energy_thresholds` turns them into money with
:func:`money_for_energy` each time the rule runs, at the account's current tariff price:

* **flat and tiered**: what the next ``level`` kWh would cost from the account's position in its
  tier cycle (the energy already charged this cycle, the flat-price quota first) — so once the
  account has climbed into a dearer tier, "12 kWh left" is worth more money;
* **time-of-use**: ``level`` kWh spread evenly over today's 24 hours (today's day type — workday,
  weekend or holiday — and season), i.e. the day's time-weighted average price; it changes at most
  at midnight, never at a period boundary, so a balance does not cross a level by the clock alone.

VAT is included as the tariff says; fixed charges are not. A tariff that prices energy at 0 gives
levels that do not fall: :func:`energy_thresholds` then raises :class:`WarningError` and the caller
falls back to the next policy (or the site's money levels).

Contract (docs/billing.md has the worked example):

* Thresholds are money: ``level1 > level2 > cutoff`` where ``cutoff`` is ``-overdraft`` (0 unless an
  overdraft is permitted). A balance is *at* a level when it is at or below the level's threshold.
* **Level 1** (balance ≤ level1): notify once per descent.
* **Level 2** (balance ≤ level2): notify and cut supply **once** as a reminder. The customer or a
  clerk restores it; while the balance stays in level 2 it is never cut again.
* **Zero** (balance ≤ cutoff): notify and cut until payment. Restoring is refused.
* A balance back above a level (a payment) clears that level and closes a relay the rule opened;
  climbing above level 1 re-arms the whole cycle. A payment that only lifts the balance out of
  ``zero`` into level 2 closes the relay and does not cut again (the reminder was given).
* **Postpaid** accounts use overdue bills instead of the balance: an overdue bill is level 1, an
  overdue bill past the grace days is ``zero`` (cut until paid).
* **Fee arrears** (a local-control account whose balance is below zero because of fees, at a site
  that cuts on fee arrears) cut until payment like ``zero``.
* **Protected supply (保电)**: no cut is ever ordered while protected; a relay the rule had opened is
  closed when protection starts. When protection ends, the next evaluation cuts if still required.

:func:`evaluate` is a pure state machine: given the stored :class:`SupplyState` and the facts now,
it returns the new state and the side effects (notifications and relay commands) to carry out.
Evaluating twice with the same facts gives no side effects the second time.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

from prepay.domain.tariffs import Tariff, TariffError
from prepay.domain.tariffs.intervals import price_intervals

__all__ = [
    "Decision",
    "Facts",
    "Level",
    "SupplyState",
    "Thresholds",
    "WarningError",
    "energy_thresholds",
    "evaluate",
    "level_of",
    "money_for_energy",
    "restore",
]


class WarningError(ValueError):
    """Thresholds are inconsistent, or a restore is not allowed; the message says why."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class Level(StrEnum):
    NORMAL = "normal"
    LEVEL1 = "level1"
    LEVEL2 = "level2"
    ZERO = "zero"


#: Why the relay is open by the rule ("" when the rule has not opened it).
CUT_REMINDER = "reminder"
CUT_ZERO = "zero"
CUT_OVERDUE = "overdue"
CUT_FEES = "fees"

_ORDER = {Level.NORMAL: 0, Level.LEVEL1: 1, Level.LEVEL2: 2, Level.ZERO: 3}


@dataclass(frozen=True)
class Thresholds:
    """Money thresholds; ``overdraft`` ≥ 0 is how far below zero supply continues."""

    level1: Decimal
    level2: Decimal
    overdraft: Decimal = Decimal("0")

    def __post_init__(self) -> None:
        for name in ("level1", "level2", "overdraft"):
            v = getattr(self, name)
            if not isinstance(v, Decimal):
                raise WarningError("invalid", f"{name}: expected a Decimal, not {v!r}")
        if self.overdraft < 0:
            raise WarningError("invalid", f"overdraft must not be negative, not {self.overdraft}")
        if not self.level1 > self.level2 > self.cutoff:
            raise WarningError(
                "invalid",
                f"thresholds must fall: level 1 ({self.level1}) > level 2 ({self.level2}) > "
                f"cut-off ({self.cutoff})",
            )

    @property
    def cutoff(self) -> Decimal:
        return -self.overdraft


def level_of(balance: Decimal, t: Thresholds) -> Level:
    """The level a prepaid balance is at."""
    if balance <= t.cutoff:
        return Level.ZERO
    if balance <= t.level2:
        return Level.LEVEL2
    if balance <= t.level1:
        return Level.LEVEL1
    return Level.NORMAL


@dataclass(frozen=True)
class SupplyState:
    """What the rule remembers per account between evaluations.

    ``level``: the deepest level notified in the current descent. ``reminder_done``: the level-2
    reminder cut was given in this descent. ``cut``: why the rule holds the relay open ("" if it
    does not). ``suppressed``: a cut was due but protected supply prevented it.
    """

    level: Level = Level.NORMAL
    reminder_done: bool = False
    cut: str = ""
    suppressed: bool = False


@dataclass(frozen=True)
class Facts:
    """The facts now. ``balance`` for prepaid; ``overdue``/``overdue_past_grace`` for postpaid;
    ``fee_arrears`` for a local-control account at a site that cuts on fee arrears."""

    balance: Decimal
    postpaid: bool = False
    overdue: bool = False
    overdue_past_grace: bool = False
    fee_arrears: bool = False
    protected: bool = False
    fees_only: bool = False  # a local-control account: only fee arrears can cut it


@dataclass(frozen=True)
class Decision:
    """The new state and the side effects: ``notify`` (levels to announce, in order), ``trip`` /
    ``close`` (queue a relay command, with ``reason``)."""

    state: SupplyState
    notify: tuple[Level, ...] = ()
    trip: bool = False
    close: bool = False
    reason: str = ""


def _target(facts: Facts, t: Thresholds) -> Level:
    if facts.postpaid:
        if facts.overdue_past_grace:
            return Level.ZERO
        return Level.LEVEL1 if facts.overdue else Level.NORMAL
    if facts.fee_arrears:
        return Level.ZERO
    if facts.fees_only:
        return Level.NORMAL
    return level_of(facts.balance, t)


def evaluate(state: SupplyState, facts: Facts, t: Thresholds) -> Decision:
    """Apply the two-stage rule; see the module docstring for the contract."""
    target = _target(facts, t)
    notify: list[Level] = []
    level = state.level
    reminder_done = state.reminder_done
    if _ORDER[target] > _ORDER[level]:
        # Descending: announce every level passed (a big charge may skip level 1).
        for lv in (Level.LEVEL1, Level.LEVEL2, Level.ZERO):
            if _ORDER[level] < _ORDER[lv] <= _ORDER[target]:
                if (lv is Level.LEVEL2 and facts.postpaid) or (lv is not Level.ZERO and facts.fee_arrears):
                    continue
                notify.append(lv)
        level = target
    elif _ORDER[target] < _ORDER[level]:
        level = target  # paid (partly): the levels above the balance are cleared
    if level is Level.NORMAL:
        reminder_done = False  # a fresh descent gets its reminder again

    # What the relay should be, by the rule alone.
    want = ""
    if target is Level.ZERO:
        if facts.postpaid:
            want = CUT_OVERDUE
        elif facts.fee_arrears:
            want = CUT_FEES
        else:
            want = CUT_ZERO
    elif target is Level.LEVEL2 and not reminder_done:
        want = CUT_REMINDER
    elif target is Level.LEVEL2 and state.cut == CUT_REMINDER:
        want = CUT_REMINDER  # the reminder cut holds until the customer or a clerk restores it

    trip = close = False
    reason = ""
    cut = state.cut
    suppressed = False
    if facts.protected:
        suppressed = bool(want)
        if state.cut:
            close, reason, cut = True, "protected", ""
    elif want and not state.cut:
        trip, reason, cut = True, want, want
    elif want and state.cut and want != state.cut:
        cut = want  # already open; the reason changes (e.g. reminder → zero), no new command
    elif not want and state.cut:
        close, reason, cut = True, "paid", ""
    if target is Level.ZERO or (want == CUT_REMINDER and not facts.protected):
        reminder_done = True  # a cut for zero counts as the reminder; protection defers it
    return Decision(
        state=SupplyState(level=level, reminder_done=reminder_done, cut=cut, suppressed=suppressed),
        notify=tuple(notify),
        trip=trip,
        close=close,
        reason=reason,
    )


def restore(state: SupplyState) -> SupplyState:
    """The customer or a clerk restores supply after the level-2 reminder cut.

    Raises :class:`WarningError` (``not_cut``) when the rule does not hold the relay open, and
    (``cut_until_payment``) when it is open for zero credit, overdue bills or fee arrears.
    """
    if not state.cut:
        raise WarningError("not_cut", "supply is not cut by the low-credit rule")
    if state.cut != CUT_REMINDER:
        raise WarningError("cut_until_payment", "supply is cut until payment")
    return replace(state, cut="")


def money_for_energy(
    tariff: Tariff,
    energy: Decimal,
    *,
    day: date,
    used_in_cycle: Decimal = Decimal(0),
    quota_used: Decimal = Decimal(0),
    holidays: Collection[date] = (),
    workdays: Collection[date] = (),
) -> Decimal:
    """What ``energy`` costs on ``day`` at the account's cycle position (see the module docstring)."""
    start = datetime.combine(day, time.min)
    quote = price_intervals(
        tariff,
        [(start, start + timedelta(days=1), energy)],
        used_in_cycle=used_in_cycle,
        quota_used=quota_used,
        holidays=holidays,
        workdays=workdays,
    )
    return quote.total


def energy_thresholds(
    level1: Decimal,
    level2: Decimal,
    overdraft: Decimal,
    tariff: Tariff,
    *,
    day: date,
    used_in_cycle: Decimal = Decimal(0),
    quota_used: Decimal = Decimal(0),
    holidays: Collection[date] = (),
    workdays: Collection[date] = (),
) -> Thresholds:
    """Money :class:`Thresholds` for energy levels ``level1 > level2 > 0`` (kWh / m³) and a money
    ``overdraft``. Raises :class:`WarningError` when the levels are not positive and falling, or the
    tariff cannot price them (a free tariff, a malformed one)."""
    if not level1 > level2 > 0:
        raise WarningError("invalid", f"energy levels must fall and stay above 0: {level1} > {level2} > 0")

    def cost(energy: Decimal) -> Decimal:
        return money_for_energy(
            tariff,
            energy,
            day=day,
            used_in_cycle=used_in_cycle,
            quota_used=quota_used,
            holidays=holidays,
            workdays=workdays,
        )

    try:
        m1, m2 = cost(level1), cost(level2)
    except TariffError as exc:
        raise WarningError("invalid", f"the tariff cannot price the levels: {exc}") from None
    return Thresholds(level1=m1, level2=m2, overdraft=overdraft)
