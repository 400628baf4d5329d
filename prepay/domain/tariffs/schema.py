"""The tariff definition: frozen dataclasses parsed from (and written back to) the stored JSON.

``Tariff.from_dict`` validates everything an admin can type and raises ``TariffError`` naming the
field; ``Tariff.to_dict`` writes the canonical version-1 form, which parses back to an equal tariff.
They live in ``parsing.py`` and ``writing.py``; the schema is documented in docs/tariffs.md.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from .errors import TariffError

SCHEMA_VERSION = 1
PRICE_PLACES = 6  # prices per kWh / m³ may carry more places than money (e.g. 0.61125)
RATE_PLACES = 4
MINUTES_PER_DAY = 24 * 60


class Kind(StrEnum):
    FLAT = "flat"
    TIERED = "tiered"
    TOU = "tou"


class Unit(StrEnum):
    KWH = "kWh"
    M3 = "m3"


class Cycle(StrEnum):
    MONTH = "month"
    YEAR = "year"


class DayType(StrEnum):
    WORKDAY = "workday"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"


class ChargeBasis(StrEnum):
    PURCHASE = "purchase"  # deducted from every purchase
    CYCLE = "cycle"  # once per billing cycle: the caller says when it is due


# --------------------------------------------------------------------------------------------------
# value objects


@dataclass(frozen=True)
class Block:
    """A tier: energy from the previous block's ``upto`` (cumulative in the cycle) up to this ``upto``."""

    upto: Decimal | None  # None: unbounded (the last block)
    price: Decimal
    label: str


@dataclass(frozen=True)
class Quota:
    """Flat-price energy (平价电量): ``energy`` per cycle at ``price``, sold before and outside the tiers."""

    energy: Decimal
    price: Decimal
    label: str = "quota"


@dataclass(frozen=True)
class FixedCharge:
    name: str
    amount: Decimal
    per: ChargeBasis


@dataclass(frozen=True)
class Period:
    """One stretch of a day schedule, in minutes after midnight: ``start`` ≤ t < ``end``."""

    start: int
    end: int
    name: str


@dataclass(frozen=True)
class Schedule:
    """A day divided into contiguous periods covering 00:00–24:00 exactly."""

    periods: tuple[Period, ...]


@dataclass(frozen=True)
class DaySchedules:
    """Schedules per day type; a holiday falls back to the weekend, a weekend to the workday schedule."""

    workday: Schedule
    weekend: Schedule | None = None
    holiday: Schedule | None = None

    def for_day(self, day_type: DayType) -> Schedule:
        if day_type is DayType.HOLIDAY and self.holiday is not None:
            return self.holiday
        if day_type in (DayType.HOLIDAY, DayType.WEEKEND) and self.weekend is not None:
            return self.weekend
        return self.workday


@dataclass(frozen=True)
class Season:
    """A date range (month-day, inclusive, may wrap the year end) with its own schedules and prices."""

    name: str
    start: tuple[int, int]
    end: tuple[int, int]
    schedules: DaySchedules
    prices: tuple[tuple[str, Decimal], ...] = ()  # overrides of the tariff's prices

    def contains(self, day: date) -> bool:
        md = (day.month, day.day)
        if self.start <= self.end:
            return self.start <= md <= self.end
        return md >= self.start or md <= self.end


@dataclass(frozen=True)
class Tariff:
    """One tariff version's pricing rules. Build with ``Tariff.from_dict``; all amounts are Decimals.

    ``price`` is the flat price (kind ``flat``) or, for ``tou``, the price at which prepaid energy is
    sold ahead of use (default: the ``flat`` period's price); unused (None) for ``tiered``.
    """

    kind: Kind
    unit: Unit = Unit.KWH
    cycle: Cycle = Cycle.MONTH
    price: Decimal | None = None
    blocks: tuple[Block, ...] = ()
    prices: tuple[tuple[str, Decimal], ...] = ()
    schedules: DaySchedules | None = None
    seasons: tuple[Season, ...] = ()
    vat_rate: Decimal = Decimal("0")
    vat_included: bool = True
    fixed_charges: tuple[FixedCharge, ...] = ()
    min_purchase: Decimal | None = None
    max_purchase: Decimal | None = None
    money_rounding: str = decimal.ROUND_HALF_UP
    energy_rounding: str = decimal.ROUND_HALF_UP
    quota: Quota | None = None

    # ---- construction ----------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tariff:
        """Parse and validate a stored / submitted tariff dict; raise ``TariffError`` on the first fault."""
        from .parsing import parse

        return parse(data)

    @classmethod
    def from_record(
        cls,
        *,
        kind: str,
        unit_price: object,
        definition: Mapping[str, Any],
        utility: str = "electricity",
        vat_rate: object = "0",
        vat_included: bool = True,
    ) -> Tariff:
        """Parse the shape stored by ``prepay.tariffs.models.Tariff`` (columns + the ``definition`` JSON).

        Columns win over the same keys in ``definition``; ``unit_price`` is the flat price, and for a
        time-of-use tariff the prepaid purchase price unless ``definition`` names its own ``price``.
        """
        from .parsing import parse

        if not isinstance(definition, Mapping):
            raise TariffError("definition", "must be an object")
        data: dict[str, Any] = dict(definition)
        data["kind"] = kind
        data.setdefault("unit", Unit.M3.value if utility == "water" else Unit.KWH.value)
        if kind != Kind.TIERED:
            data.setdefault("price", str(unit_price) if isinstance(unit_price, Decimal) else unit_price)
        data["vat_rate"] = str(vat_rate) if isinstance(vat_rate, Decimal) else vat_rate
        data["vat_included"] = vat_included
        return parse(data)

    def to_dict(self) -> dict[str, Any]:
        """The canonical version-1 dict (Decimals as strings); ``from_dict(t.to_dict()) == t``."""
        from .writing import write

        return write(self)

    # ---- lookups ---------------------------------------------------------------------------------

    def purchase_blocks(self) -> tuple[Block, ...]:
        """The blocks that price prepaid energy bought ahead of use (one unbounded block unless tiered)."""
        if self.kind is Kind.TIERED:
            return self.blocks
        assert self.price is not None
        return (Block(None, self.price, self.kind.value),)

    def season_for(self, day: date) -> Season | None:
        for season in self.seasons:
            if season.contains(day):
                return season
        return None

    def schedule_and_prices(self, day: date, day_type: DayType) -> tuple[Schedule, dict[str, Decimal]]:
        """The time-of-use schedule and period prices in force on ``day``."""
        prices = dict(self.prices)
        season = self.season_for(day)
        if season is not None:
            prices.update(season.prices)
            return season.schedules.for_day(day_type), prices
        assert self.schedules is not None  # parsing guarantees seasons or a default cover every day
        return self.schedules.for_day(day_type), prices
