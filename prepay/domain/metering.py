"""Consumption from register readings (pure): deltas, CT/PT multipliers, rollover, backwards meters,
missing and out-of-order readings, meter replacement (换表) inside a billing period.

Contracts (see docs/metering.md for the rules with a worked example):

* Everything is ``Decimal``; floats are refused. Register values are in meter units (what the display
  shows); real energy = register delta × CT × PT (倍率), exact, via :func:`prepay.domain.tariffs.multiplier`.
* Datetimes must be timezone-aware. Periods are half-open ``[start, end)``.
* Readings may arrive in any order: they are sorted by time. An exact duplicate is dropped. Two different
  values at the same instant are a *conflict*: the lower value is kept (it never charges more up to that
  instant) and the adjoining intervals are flagged ``conflict``.
* A value below the previous high-water mark is either a **rollover** (the register wrapped past its
  maximum, e.g. 99999.9 → 0002.3) or the meter running **backwards**. Rollover is assumed only when the
  previous high-water mark is in the top ``rollover_band`` of the register range, the new value is in the
  bottom ``rollover_band``, and (when ``max_rate`` is given) the implied delta is plausible for the
  elapsed time. Anything else is backwards: the interval gets zero energy and the flag ``backwards``, and
  the next reading is measured from the high-water mark, so energy is never credited back and never
  charged twice.
* An interval longer than ``max_gap`` (missing readings) is kept as one interval flagged ``gap``.
* Consumption over a period prorates an interval that straddles a period boundary linearly by time, using
  a cumulative curve rounded to :data:`prepay.domain.money.ENERGY_PLACES`, so the shares of adjacent
  periods always add up exactly to the interval's energy.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property

from prepay.domain.money import ENERGY_PLACES, QuantityError, to_decimal
from prepay.domain.tariffs.errors import TariffError
from prepay.domain.tariffs.multiplier import multiplier as _multiplier

__all__ = [
    "BACKWARDS",
    "CONFLICT",
    "GAP",
    "IMPLAUSIBLE",
    "PRORATED",
    "ROLLOVER",
    "InstallationSpan",
    "Interval",
    "MeterConsumption",
    "MeteringError",
    "PeriodConsumption",
    "Reading",
    "RegisterSpec",
    "Share",
    "consumption",
    "intervals",
]

# Interval flags (machine-readable; the web layer translates them).
BACKWARDS = "backwards"  # value fell below the high-water mark and was not a rollover: energy 0
ROLLOVER = "rollover"  # the register wrapped past its maximum inside this interval
GAP = "gap"  # the interval is longer than the expected reading period (missing readings)
CONFLICT = "conflict"  # two different values were read at one of the interval's instants
IMPLAUSIBLE = "implausible"  # forward delta above max_rate × hours: counted, but needs review
PRORATED = "prorated"  # (on a Share) only part of the interval falls inside the period

_MICROSECONDS_PER_HOUR = Decimal(3_600_000_000)
_ENERGY_STEP = Decimal(1).scaleb(-ENERGY_PLACES)


class MeteringError(ValueError):
    """Readings, a register spec or installation spans are invalid; the message says which and why."""


def _decimal(value: object, name: str) -> Decimal:
    try:
        return to_decimal(value)
    except QuantityError as exc:
        raise MeteringError(f"{name}: {exc}") from exc


def _aware(at: object, name: str) -> datetime:
    if not isinstance(at, datetime):
        raise MeteringError(f"{name}: expected a datetime, not {at!r}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise MeteringError(f"{name}: datetime {at.isoformat()} must be timezone-aware")
    return at


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True)
class Reading:
    """A register reading: ``value`` in meter units (not multiplied) of ``meter`` at instant ``at``.

    ``value`` is parsed with :func:`prepay.domain.money.to_decimal` (floats refused) and must be ≥ 0;
    whether it fits the register is checked against a :class:`RegisterSpec` when it is used.
    """

    at: datetime
    value: Decimal
    meter: str

    def __post_init__(self) -> None:
        _aware(self.at, "reading.at")
        v = _decimal(self.value, "reading.value")
        if v < 0:
            raise MeteringError(f"reading.value: a register never shows a negative value, not {v}")
        if not isinstance(self.meter, str) or not self.meter.strip():
            raise MeteringError("reading.meter: a meter id is required")
        object.__setattr__(self, "value", v)


@dataclass(frozen=True)
class RegisterSpec:
    """A meter register: ``int_digits`` before and ``decimals`` after the point, and its CT/PT ratios.

    The register shows ``0 … max_value`` (e.g. 6+2 digits: 999999.99) and wraps to 0 at ``modulus``
    (1000000). ``rollover_band`` (0 < band ≤ 0.5, default 0.1) is the fraction of the range at the top
    and bottom in which a drop counts as a rollover rather than a backwards meter.
    """

    int_digits: int = 6
    decimals: int = 2
    ct_ratio: int = 1
    pt_ratio: int = 1
    rollover_band: Decimal = field(default=Decimal("0.1"))

    def __post_init__(self) -> None:
        for name in ("int_digits", "decimals"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise MeteringError(f"{name}: expected a whole number, not {v!r}")
        if not 1 <= self.int_digits <= 12:
            raise MeteringError(f"int_digits: must be 1 to 12, not {self.int_digits}")
        if not 0 <= self.decimals <= 6:
            raise MeteringError(f"decimals: must be 0 to 6, not {self.decimals}")
        try:
            _multiplier(self.ct_ratio, self.pt_ratio)
        except TariffError as exc:
            raise MeteringError(str(exc)) from exc
        object.__setattr__(self, "ct_ratio", int(self.ct_ratio))
        object.__setattr__(self, "pt_ratio", int(self.pt_ratio))
        band = _decimal(self.rollover_band, "rollover_band")
        if not 0 < band <= Decimal("0.5"):
            raise MeteringError(f"rollover_band: must be above 0 and at most 0.5, not {band}")
        object.__setattr__(self, "rollover_band", band)

    @cached_property
    def resolution(self) -> Decimal:
        """The smallest register step, e.g. 0.01 for two decimals."""
        return Decimal(1).scaleb(-self.decimals)

    @cached_property
    def modulus(self) -> Decimal:
        """The value at which the register wraps to zero, e.g. 1000000 for six integer digits."""
        return Decimal(10) ** self.int_digits

    @cached_property
    def max_value(self) -> Decimal:
        """The largest value the register shows, e.g. 999999.99."""
        return (self.modulus - self.resolution).quantize(self.resolution)

    @cached_property
    def multiplier(self) -> int:
        """CT ratio × PT ratio (倍率)."""
        return _multiplier(self.ct_ratio, self.pt_ratio)

    def check(self, value: Decimal, what: str = "reading") -> Decimal:
        """Return ``value`` if the register can show it; raise :class:`MeteringError` otherwise."""
        if value < 0 or value > self.max_value:
            raise MeteringError(f"{what}: {value} is outside the register range 0…{self.max_value}")
        with decimal.localcontext() as ctx:
            ctx.prec = 60
            if value != value.quantize(self.resolution):
                raise MeteringError(f"{what}: {value} has more than {self.decimals} decimal places")
        return value


@dataclass(frozen=True)
class Interval:
    """Consumption of one meter between two consecutive readings.

    ``from_value`` is the reference the delta is measured from — the high-water mark, which is the
    previous reading unless the meter ran backwards earlier; ``to_value`` is the reading at ``end``.
    ``delta`` is in register units (≥ 0, rollover included) and ``energy`` = delta × CT × PT, exact.
    """

    meter: str
    start: datetime
    end: datetime
    from_value: Decimal
    to_value: Decimal
    delta: Decimal
    energy: Decimal
    flags: frozenset[str] = frozenset()


def _single_meter(readings: Sequence[Reading]) -> str:
    meters = {r.meter for r in readings}
    if len(meters) > 1:
        raise MeteringError(f"readings of several meters given together: {sorted(meters)}")
    return meters.pop()


def _checked_inputs(
    items: list[Reading], spec: RegisterSpec, meter: str, max_gap: timedelta | None, max_rate: object
) -> Decimal | None:
    """Check every value fits the register and the options are positive; returns ``max_rate`` as a
    Decimal (or None)."""
    for r in items:
        try:
            spec.check(r.value)
        except MeteringError:  # the message names the reading only when it is needed (hot loop)
            spec.check(r.value, f"reading of {meter} at {r.at.isoformat()}")
    rate = None if max_rate is None else _decimal(max_rate, "max_rate")
    if rate is not None and rate <= 0:
        raise MeteringError(f"max_rate: must be positive, not {rate}")
    if max_gap is not None and max_gap <= timedelta(0):
        raise MeteringError(f"max_gap: must be positive, not {max_gap}")
    return rate


def _one_value_per_instant(items: list[Reading]) -> tuple[list[tuple[datetime, Decimal]], set[datetime]]:
    """(instant, value) in time order, one value per instant: the lowest; and the instants that had
    several different values (conflicts)."""
    by_time: dict[datetime, set[Decimal]] = {}
    for r in items:
        by_time.setdefault(r.at, set()).add(r.value)
    instants = sorted(by_time)
    conflicts = {at for at in instants if len(by_time[at]) > 1}
    return [(at, min(by_time[at])) for at in instants], conflicts


def intervals(
    readings: Iterable[Reading],
    spec: RegisterSpec,
    *,
    max_gap: timedelta | None = None,
    max_rate: object = None,
) -> list[Interval]:
    """Intervals between consecutive readings of ONE meter, in time order.

    Input order does not matter. Exact duplicates are dropped; different values at one instant keep
    the lower and flag ``conflict``. ``max_gap``: intervals longer than this are flagged ``gap``.
    ``max_rate`` (register units per hour, optional): a rollover must be plausible under it, and a
    forward delta above it is flagged ``implausible`` (still counted). Fewer than two distinct instants
    give no intervals. Raises :class:`MeteringError` for mixed meters or values the register cannot show.
    """
    items = list(readings)
    for r in items:
        if not isinstance(r, Reading):
            raise MeteringError(f"expected Reading objects, not {r!r}")
    if not items:
        return []
    meter = _single_meter(items)
    rate = _checked_inputs(items, spec, meter, max_gap, max_rate)
    points, conflicts = _one_value_per_instant(items)
    mult = spec.multiplier
    top = spec.modulus * (1 - spec.rollover_band)
    bottom = spec.modulus * spec.rollover_band
    out: list[Interval] = []
    (prev_at, high) = points[0]
    for at, value in points[1:]:
        flags: set[str] = set()
        hours = Decimal(_micros(at - prev_at)) / _MICROSECONDS_PER_HOUR
        if value >= high:
            delta = value - high
            new_high = value
            if rate is not None and delta > rate * hours:
                flags.add(IMPLAUSIBLE)
        else:
            wrapped = spec.modulus - high + value
            if high >= top and value < bottom and (rate is None or wrapped <= rate * hours):
                delta, new_high = wrapped, value
                flags.add(ROLLOVER)
            else:
                delta, new_high = Decimal(0), high  # never credited; measure on from the high-water mark
                flags.add(BACKWARDS)
        if max_gap is not None and at - prev_at > max_gap:
            flags.add(GAP)
        if prev_at in conflicts or at in conflicts:
            flags.add(CONFLICT)
        delta = delta.quantize(spec.resolution)
        out.append(
            Interval(
                meter=meter,
                start=prev_at,
                end=at,
                from_value=high,
                to_value=value,
                delta=delta,
                energy=delta * mult,  # = real_energy(delta, ct, pt), validated once above
                flags=frozenset(flags),
            )
        )
        prev_at, high = at, new_high
    return out


@dataclass(frozen=True)
class InstallationSpan:
    """One meter installed at a supply point from ``installed_at`` (reading ``opening``) until
    ``removed_at`` (reading ``closing``), or still installed when both are ``None``.

    A replacement (换表) is two spans: the old meter's ends where (or before) the new one's begins.
    """

    meter: str
    spec: RegisterSpec
    installed_at: datetime
    opening: Decimal
    removed_at: datetime | None = None
    closing: Decimal | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.meter, str) or not self.meter.strip():
            raise MeteringError("installation.meter: a meter id is required")
        if not isinstance(self.spec, RegisterSpec):
            raise MeteringError(f"installation.spec: expected a RegisterSpec, not {self.spec!r}")
        _aware(self.installed_at, "installation.installed_at")
        what = f"opening reading of {self.meter}"
        object.__setattr__(self, "opening", self.spec.check(_decimal(self.opening, what), what))
        if (self.removed_at is None) != (self.closing is None):
            raise MeteringError(f"installation of {self.meter}: removed_at and closing go together")
        if self.removed_at is not None and self.closing is not None:
            _aware(self.removed_at, "installation.removed_at")
            if self.removed_at <= self.installed_at:
                raise MeteringError(f"installation of {self.meter}: removed_at must be after installed_at")
            what = f"closing reading of {self.meter}"
            object.__setattr__(self, "closing", self.spec.check(_decimal(self.closing, what), what))

    def covers(self, at: datetime) -> bool:
        """Whether ``at`` lies inside the installation (both ends included)."""
        return self.installed_at <= at and (self.removed_at is None or at <= self.removed_at)

    def readings(self, readings: Iterable[Reading]) -> list[Reading]:
        """The opening and closing readings plus those of this meter taken while installed."""
        own = [r for r in readings if r.meter == self.meter and self.covers(r.at)]
        own.append(Reading(self.installed_at, self.opening, self.meter))
        if self.removed_at is not None and self.closing is not None:
            own.append(Reading(self.removed_at, self.closing, self.meter))
        return own


@dataclass(frozen=True)
class Share:
    """The part of ``interval`` inside a period: ``start``–``end`` and its prorated real ``energy``."""

    interval: Interval
    start: datetime
    end: datetime
    energy: Decimal
    flags: frozenset[str]


@dataclass(frozen=True)
class MeterConsumption:
    """One installation's contribution to a period: its shares and their total real energy."""

    meter: str
    multiplier: int
    installed_at: datetime
    removed_at: datetime | None
    shares: tuple[Share, ...]
    energy: Decimal


@dataclass(frozen=True)
class PeriodConsumption:
    """Real energy over ``[start, end)`` across installations.

    ``energy`` == Σ part energies == Σ share energies. ``uncovered`` lists the sub-ranges of the period
    no interval covers (no readings yet, or a meter-less stretch between a removal and an installation):
    the billing layer decides whether to estimate them. ``flags`` is the union of the shares' flags.
    """

    start: datetime
    end: datetime
    parts: tuple[MeterConsumption, ...]
    energy: Decimal
    uncovered: tuple[tuple[datetime, datetime], ...]
    flags: frozenset[str]


def _cumulative(interval: Interval, at: datetime) -> Decimal:
    """Energy of ``interval`` consumed by ``at`` on the linear curve, rounded to the energy step.

    F(start) = 0 and F(end) = energy exactly; F is non-decreasing, so shares are never negative and
    the shares of adjacent periods telescope to the whole.
    """
    if at <= interval.start:
        return Decimal(0)
    if at >= interval.end:
        return interval.energy
    exponent = interval.energy.as_tuple().exponent
    step = _ENERGY_STEP if not isinstance(exponent, int) else min(_ENERGY_STEP, Decimal(1).scaleb(exponent))
    with decimal.localcontext() as ctx:
        ctx.prec = 80
        part = interval.energy * _micros(at - interval.start) / _micros(interval.end - interval.start)
        return part.quantize(step, rounding=decimal.ROUND_HALF_UP)


def _ordered_spans(installations: Iterable[InstallationSpan]) -> list[InstallationSpan]:
    spans = list(installations)
    for s in spans:
        if not isinstance(s, InstallationSpan):
            raise MeteringError(f"expected InstallationSpan objects, not {s!r}")
    spans.sort(key=lambda s: s.installed_at)
    for before, after in zip(spans, spans[1:], strict=False):
        if before.removed_at is None or before.removed_at > after.installed_at:
            raise MeteringError(
                f"installations overlap: {before.meter} (from {before.installed_at.isoformat()}) is not "
                f"removed before {after.meter} is installed at {after.installed_at.isoformat()}"
            )
    return spans


def consumption(
    period_start: datetime,
    period_end: datetime,
    installations: Iterable[InstallationSpan],
    readings: Iterable[Reading],
    *,
    max_gap: timedelta | None = None,
    max_rate: object = None,
) -> PeriodConsumption:
    """Real energy consumed at one supply point over ``[period_start, period_end)``.

    ``installations`` must not overlap in time (a replacement ends one span where the next begins).
    For each span, the readings of its meter taken while installed, plus its opening and closing
    readings, become :func:`intervals` (readings of other meters or outside the span are ignored).
    Each interval overlapping the period contributes a :class:`Share`, prorated linearly by time when
    it straddles a boundary (flag ``prorated``). Splitting a period in two gives shares and totals that
    add up exactly to the whole. ``max_gap`` and ``max_rate`` are passed to :func:`intervals`.
    """
    start = _aware(period_start, "period_start")
    end = _aware(period_end, "period_end")
    if end <= start:
        raise MeteringError("period_end must be after period_start")
    spans = _ordered_spans(installations)
    all_readings = list(readings)
    for r in all_readings:
        if not isinstance(r, Reading):
            raise MeteringError(f"expected Reading objects, not {r!r}")

    parts: list[MeterConsumption] = []
    covered: list[tuple[datetime, datetime]] = []
    for span in spans:
        if span.installed_at >= end or (span.removed_at is not None and span.removed_at <= start):
            continue
        shares: list[Share] = []
        for iv in intervals(span.readings(all_readings), span.spec, max_gap=max_gap, max_rate=max_rate):
            lo, hi = max(iv.start, start), min(iv.end, end)
            if lo >= hi:
                continue
            share_flags = iv.flags | ({PRORATED} if (lo, hi) != (iv.start, iv.end) else frozenset())
            shares.append(Share(iv, lo, hi, _cumulative(iv, hi) - _cumulative(iv, lo), share_flags))
            covered.append((lo, hi))
        parts.append(
            MeterConsumption(
                meter=span.meter,
                multiplier=span.spec.multiplier,
                installed_at=span.installed_at,
                removed_at=span.removed_at,
                shares=tuple(shares),
                energy=sum((s.energy for s in shares), Decimal(0)),
            )
        )

    uncovered: list[tuple[datetime, datetime]] = []
    cursor = start
    for lo, hi in sorted(covered):
        if lo > cursor:
            uncovered.append((cursor, lo))
        cursor = max(cursor, hi)
    if cursor < end:
        uncovered.append((cursor, end))
    flags: set[str] = set()
    for p in parts:
        for s in p.shares:
            flags |= s.flags
    return PeriodConsumption(
        start=start,
        end=end,
        parts=tuple(parts),
        energy=sum((p.energy for p in parts), Decimal(0)),
        uncovered=tuple(uncovered),
        flags=frozenset(flags),
    )
