"""Tariff versions and assignment: which tariff applies to an account on a date, and its cycle."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol, TypeVar

from .errors import TariffError
from .schema import Cycle, Tariff


class HasEffectiveFrom(Protocol):
    @property
    def effective_from(self) -> date: ...


V = TypeVar("V", bound=HasEffectiveFrom)
T = TypeVar("T")


@dataclass(frozen=True)
class TariffVersion:
    """A tariff effective from a date until the next version of the same code takes over."""

    code: str
    effective_from: date
    tariff: Tariff


def select_version(versions: Iterable[V], on_date: date) -> V:
    """The version in force on ``on_date``: the latest ``effective_from`` not after it.

    Works on ``TariffVersion`` and on model instances alike. Raises ``TariffError`` when no version is
    in force yet, or when two versions share that date (ambiguous).
    """
    candidates = [v for v in versions if v.effective_from <= on_date]
    if not candidates:
        raise TariffError("effective_from", f"no tariff version is in force on {on_date.isoformat()}")
    latest = max(v.effective_from for v in candidates)
    chosen = [v for v in candidates if v.effective_from == latest]
    if len(chosen) > 1:
        raise TariffError("effective_from", f"{len(chosen)} versions take effect on {latest.isoformat()}")
    return chosen[0]


def resolve_assignment(
    *, account: T | None = None, site_default: T | None = None, group_default: T | None = None
) -> T:
    """The tariff that applies to an account: its own override, else the default for its customer type
    at its site, else the group-wide default for its customer type."""
    for candidate in (account, site_default, group_default):
        if candidate is not None:
            return candidate
    raise TariffError(
        "tariff", "no tariff is assigned to the account, its site or its group for its customer type"
    )


def cycle_bounds(cycle: Cycle | str, on_date: date) -> tuple[date, date]:
    """The tier cycle containing ``on_date``: [first day, first day of the next cycle)."""
    cycle = Cycle(cycle)
    if cycle is Cycle.YEAR:
        return date(on_date.year, 1, 1), date(on_date.year + 1, 1, 1)
    start = on_date.replace(day=1)
    nxt = date(start.year + 1, 1, 1) if start.month == 12 else date(start.year, start.month + 1, 1)
    return start, nxt
