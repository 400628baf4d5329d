"""Interval billing: energy consumed over time, priced by time-of-use period or by cumulative tiers.

Used by remote fee control (the platform holds the balance and bills meter readings). Times are the
site's wall clock: aware datetimes are converted to the start's zone and compared as wall-clock
times (China has no daylight saving time; a DST change inside an interval is weighted by wall clock).
"""

from __future__ import annotations

import decimal
from collections.abc import Collection, Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal

from prepay.domain.money import ENERGY_PLACES, QuantityError, quantize, to_decimal

from .errors import TariffError
from .pricing import (
    _PRECISION,
    Quote,
    _block_segments,
    _build,
    _Fill,
    _fill,
    _fixed_lines,
    _position,
    _quota_left_segment,
    _running_round,
)
from .schema import DayType, Kind, Tariff


def day_type(day: date, holidays: Collection[date] = (), workdays: Collection[date] = ()) -> DayType:
    """Holiday if listed in ``holidays``; a workday if listed in ``workdays`` (调休 make-up days, which
    fall on weekends); otherwise weekend on Saturday and Sunday, workday Monday to Friday."""
    if day in holidays:
        return DayType.HOLIDAY
    if day in workdays:
        return DayType.WORKDAY
    return DayType.WEEKEND if day.weekday() >= 5 else DayType.WORKDAY


def _wall_clock(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    if (start.tzinfo is None) != (end.tzinfo is None):
        raise TariffError("end", "start and end must both be naive or both carry a time zone")
    if start.tzinfo is not None:
        end = end.astimezone(start.tzinfo)
        start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    if end <= start:
        raise TariffError("end", f"the interval ends ({end}) at or before its start ({start})")
    return start, end


def tou_pieces(
    tariff: Tariff,
    start: datetime,
    end: datetime,
    *,
    holidays: Collection[date] = (),
    workdays: Collection[date] = (),
) -> list[tuple[str, Decimal, timedelta]]:
    """Split [start, end) by time-of-use period: (period, price, duration) in time order (wall clock)."""
    if tariff.kind is not Kind.TOU:
        raise TariffError("kind", "time-of-use periods need a tou tariff")
    start, end = _wall_clock(start, end)
    pieces: list[tuple[str, Decimal, timedelta]] = []
    day = start.date()
    while datetime.combine(day, datetime.min.time()) < end:
        midnight = datetime.combine(day, datetime.min.time())
        schedule, prices = tariff.schedule_and_prices(day, day_type(day, holidays, workdays))
        for p in schedule.periods:
            a = max(start, midnight + timedelta(minutes=p.start))
            b = min(end, midnight + timedelta(minutes=p.end))
            if b > a:
                pieces.append((p.name, prices[p.name], b - a))
        day += timedelta(days=1)
    return pieces


def price_intervals(
    tariff: Tariff,
    intervals: Iterable[tuple[datetime, datetime, object]],
    *,
    used_in_cycle: object = 0,
    quota_used: object = 0,
    holidays: Collection[date] = (),
    workdays: Collection[date] = (),
    charge_cycle_fees: bool = False,
) -> Quote:
    """Bill energy consumed over consecutive intervals ``(start, end, energy)`` as one quote.

    Time-of-use tariffs split each interval's energy across the periods it straddles in proportion to
    time; flat and tiered tariffs price by cumulative energy in the cycle (``used_in_cycle`` is the
    energy already billed this cycle). The flat-price quota is consumed first, in time order. Per-
    purchase fixed charges do not apply; per-cycle ones when ``charge_cycle_fees``. No min/max check.
    Times are the site's wall clock; a tariff change inside the intervals is the caller's to split.
    """
    used, q_used = _position(used_in_cycle, quota_used)
    quota_left = Decimal(0) if tariff.quota is None else max(tariff.quota.energy - q_used, Decimal(0))
    position = used
    fills: list[_Fill] = []
    period_order = {name: i for i, (name, _) in enumerate(tariff.prices)}
    for i, (start, end, raw) in enumerate(intervals):
        try:
            e = quantize(to_decimal(raw), ENERGY_PLACES, tariff.energy_rounding)
        except QuantityError as exc:
            raise TariffError(f"intervals[{i}].energy", str(exc)) from exc
        if e < 0:
            raise TariffError(f"intervals[{i}].energy", f"must not be negative, not {e}")
        if tariff.kind is Kind.TOU:
            pieces = tou_pieces(tariff, start, end, holidays=holidays, workdays=workdays)
            micro = [Decimal(d // timedelta(microseconds=1)) for _, _, d in pieces]
            whole = sum(micro, Decimal(0))
            with decimal.localcontext() as ctx:
                ctx.prec = _PRECISION
                shares = _running_round([e * m / whole for m in micro], ENERGY_PLACES, tariff.energy_rounding)
            for (name, price, _), share in zip(pieces, shares, strict=True):
                from_quota = min(quota_left, share)
                if from_quota > 0:
                    q = tariff.quota
                    assert q is not None
                    fills.append(_Fill("quota", q.label, q.price, from_quota, (0, 0), True))
                    quota_left -= from_quota
                if share > from_quota:
                    fills.append(
                        _Fill(
                            f"period:{name}", name, price, share - from_quota, (2, period_order[name]), False
                        )
                    )
                    position += share - from_quota
        else:
            _wall_clock(start, end)
            segments = _quota_left_segment(tariff, quota_left)
            new = _fill(segments + _block_segments(tariff.purchase_blocks(), tariff.kind, position), e)
            fills += new
            quota_left -= sum((f.energy for f in new if f.quota), Decimal(0))
            position += sum((f.energy for f in new if not f.quota), Decimal(0))
    fixed = _fixed_lines(tariff, per_purchase=False, cycle=charge_cycle_fees)
    return _build(tariff, fills, fixed, paid=None, used=used, quota_used=q_used)


def price_interval(
    tariff: Tariff,
    energy: object,
    start: datetime,
    end: datetime,
    *,
    used_in_cycle: object = 0,
    quota_used: object = 0,
    holidays: Collection[date] = (),
    workdays: Collection[date] = (),
    charge_cycle_fees: bool = False,
) -> Quote:
    """``price_intervals`` for a single interval."""
    return price_intervals(
        tariff,
        [(start, end, energy)],
        used_in_cycle=used_in_cycle,
        quota_used=quota_used,
        holidays=holidays,
        workdays=workdays,
        charge_cycle_fees=charge_cycle_fees,
    )
