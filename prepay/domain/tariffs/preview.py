"""Sample bills (pure): what typical amounts of energy cost under a tariff, for the editor's preview.

Contract:

* :func:`sample_purchases` prices each typical cycle's energy (:func:`typical_energies`, or the
  energies given) as one prepaid purchase from the start of a cycle, per-cycle fixed charges
  included, exactly as ``quote_energy`` would. The tariff's minimum / maximum purchase does not stop
  the preview: a bill outside them is priced and carries ``limit`` (``below_minimum`` /
  ``above_maximum``), the refusal a sale of that total would meet.
* :func:`sample_days` (time-of-use only) bills a day of ``daily_energy`` used evenly, hour by hour,
  through ``price_intervals`` — one bill per day type the tariff prices on its own (a workday always;
  a weekend and a holiday when the schedule in force on ``reference`` has one), on the first such
  day on or after ``reference`` (a holiday is that workday declared a holiday).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from .errors import PurchaseError
from .intervals import price_intervals
from .pricing import Quote, quote_energy
from .schema import Cycle, DayType, Kind, Tariff, Unit

__all__ = ["DAILY_ENERGY", "SampleBill", "sample_days", "sample_purchases", "typical_energies"]

#: energies a cycle typically sees, by unit and cycle (the second is a household's usual figure)
TYPICAL: dict[tuple[Unit, Cycle], tuple[str, ...]] = {
    (Unit.KWH, Cycle.MONTH): ("100", "200", "400"),
    (Unit.KWH, Cycle.YEAR): ("1200", "2400", "4800"),
    (Unit.M3, Cycle.MONTH): ("10", "20", "40"),
    (Unit.M3, Cycle.YEAR): ("120", "240", "360"),
}
#: a time-of-use sample day: 24 kWh, one an hour
DAILY_ENERGY = Decimal(24)


@dataclass(frozen=True)
class SampleBill:
    """One priced sample: ``key`` is ``cycle`` or ``day:workday`` / ``day:weekend`` / ``day:holiday``;
    ``day`` is the date a sample day was priced on (None for a cycle's purchase)."""

    key: str
    energy: Decimal
    quote: Quote
    day: date | None = None
    limit: str = ""

    @property
    def average_price(self) -> Decimal:
        """The total divided by the energy, to 4 places (what a unit costs on average)."""
        return (self.quote.total / self.energy).quantize(Decimal("0.0001"))


def typical_energies(tariff: Tariff) -> tuple[Decimal, ...]:
    """The cycle energies the preview prices by default for the tariff's unit and cycle."""
    return tuple(Decimal(e) for e in TYPICAL[(tariff.unit, tariff.cycle)])


def _limit(tariff: Tariff, total: Decimal) -> str:
    if tariff.min_purchase is not None and total < tariff.min_purchase:
        return "below_minimum"
    if tariff.max_purchase is not None and total > tariff.max_purchase:
        return "above_maximum"
    return ""


def sample_purchases(tariff: Tariff, energies: tuple[Decimal, ...] | None = None) -> list[SampleBill]:
    """Each energy bought at once from the start of a cycle (see the module docstring)."""
    unlimited = replace(tariff, min_purchase=None, max_purchase=None)
    out: list[SampleBill] = []
    for energy in energies or typical_energies(tariff):
        try:
            quote = quote_energy(unlimited, energy, charge_cycle_fees=True)
        except PurchaseError:  # pragma: no cover - no limits are left to refuse it
            continue
        out.append(SampleBill("cycle", quote.energy, quote, limit=_limit(tariff, quote.total)))
    return out


def _first(reference: date, weekend: bool) -> date:
    day = reference
    while (day.weekday() >= 5) != weekend:
        day += timedelta(days=1)
    return day


def sample_days(tariff: Tariff, reference: date, daily_energy: Decimal = DAILY_ENERGY) -> list[SampleBill]:
    """A day of ``daily_energy`` used evenly, per day type (see the module docstring)."""
    if tariff.kind is not Kind.TOU:
        return []
    workday, weekend = _first(reference, weekend=False), _first(reference, weekend=True)
    season = tariff.season_for(workday)
    schedules = season.schedules if season is not None else tariff.schedules
    assert schedules is not None  # parsing guarantees a schedule for every day
    days: list[tuple[DayType, date, frozenset[date]]] = [(DayType.WORKDAY, workday, frozenset())]
    if schedules.weekend is not None:
        days.append((DayType.WEEKEND, weekend, frozenset()))
    if schedules.holiday is not None:
        days.append((DayType.HOLIDAY, workday, frozenset({workday})))
    hourly = daily_energy / 24
    out: list[SampleBill] = []
    for day_type, day, holidays in days:
        midnight = datetime.combine(day, datetime.min.time())
        hours = [
            (midnight + timedelta(hours=h), midnight + timedelta(hours=h + 1), hourly) for h in range(24)
        ]
        quote = price_intervals(tariff, hours, holidays=holidays)
        out.append(SampleBill(f"day:{day_type.value}", quote.energy, quote, day=day))
    return out
