"""Parsing the tariff JSON (schema version 1); see docs/tariffs.md. Writing it back: ``writing.py``.

Every fault raises ``TariffError`` naming the field's path (``blocks[1].upto``, ``schedules.weekend[2]``)
and the rule broken (``code`` + ``params``), so a form can show it next to the field or row, in the
person's language. Numbers are plain decimals only: ``"1E+2"``, ``"1_000"`` and ``"NaN"`` are refused
(prepay.domain.typed.plain_decimal), as they are where people type them.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from prepay.domain.money import ROUNDING_MODES
from prepay.domain.typed import TypedError, plain_decimal

from .errors import TariffError
from .schema import (
    MINUTES_PER_DAY,
    PRICE_PLACES,
    RATE_PLACES,
    SCHEMA_VERSION,
    Block,
    ChargeBasis,
    Cycle,
    DaySchedules,
    DayType,
    FixedCharge,
    Kind,
    Period,
    Quota,
    Schedule,
    Season,
    Tariff,
    Unit,
)
from .writing import write

__all__ = ["parse", "write"]

_UNIT_ALIASES = {"kwh": Unit.KWH, "m3": Unit.M3, "m³": Unit.M3}
_PERIOD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_HHMM = re.compile(r"^([0-9]{2}):([0-9]{2})$")
_MMDD = re.compile(r"^([0-9]{2})-([0-9]{2})$")


_COMMON_KEYS = {
    "schema",
    "kind",
    "unit",
    "cycle",
    "vat_rate",
    "vat_included",
    "fixed_charges",
    "min_purchase",
    "max_purchase",
    "rounding",
    "quota",
}
_KIND_KEYS = {
    Kind.FLAT: {"price"},
    Kind.TIERED: {"blocks"},
    Kind.TOU: {"price", "prices", "schedule", "schedules", "seasons"},
}


def _number(value: object, field: str, *, places: int, minimum: Decimal, exclusive: bool = False) -> Decimal:
    if value is None or isinstance(value, (list, dict)):
        raise TariffError(field, 'a number is required (write it as a string, e.g. "0.5880")', "required")
    if isinstance(value, float):
        raise TariffError(field, f'{value!r} is a float; write it as a string, e.g. "{value}"', "float")
    try:
        d = plain_decimal(value)
    except TypedError as exc:
        if exc.reason == "too_large":
            raise TariffError(field, f"{value!r} is too large", "too_large") from None
        raise TariffError(
            field, f"{value!r} is not a number (plain digits and at most one decimal point)", "not_number"
        ) from None
    if d.as_tuple().exponent < -places:  # type: ignore[operator]
        raise TariffError(
            field, f"{d} has more than {places} decimal places", "too_many_places", places=places
        )
    if d < minimum or (exclusive and d == minimum):
        code = "must_exceed" if exclusive else "at_least"
        word = "greater than" if exclusive else "at least"
        raise TariffError(field, f"must be {word} {minimum}, not {d}", code, minimum=minimum, value=d)
    return d + 0  # normalise -0


def _text(value: object, field: str, *, max_length: int = 64) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TariffError(field, "a non-empty text is required", "required")
    if len(value) > max_length:
        raise TariffError(field, f"at most {max_length} characters", "too_long", max_length=max_length)
    return value.strip()


def _choice(value: object, field: str, enum: type[StrEnum]) -> Any:
    allowed = [e.value for e in enum]
    if not isinstance(value, str) or value not in allowed:
        raise TariffError(
            field, f"{value!r} is not one of {', '.join(allowed)}", "not_choice", allowed=", ".join(allowed)
        )
    return enum(value)


def _mapping(value: object, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TariffError(field, "must be an object", "not_object")
    return value


def _list(value: object, field: str, *, non_empty: bool = True) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise TariffError(field, "must be a list", "not_list")
    if non_empty and not value:
        raise TariffError(field, "must not be empty", "empty")
    return list(value)


def _check_keys(data: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        where = f"{prefix}." if prefix else ""
        names = ", ".join(sorted(allowed))
        raise TariffError(
            f"{where}{unknown[0]}", f"unknown key; allowed here: {names}", "unknown_key", allowed=names
        )


def _infer_kind(data: Mapping[str, Any]) -> Kind:
    if "kind" in data:
        kind: Kind = _choice(data["kind"], "kind", Kind)
        return kind
    if "blocks" in data:
        return Kind.TIERED
    if "prices" in data or "schedule" in data or "schedules" in data:
        return Kind.TOU
    if "price" in data:
        return Kind.FLAT
    raise TariffError("kind", "required (flat, tiered or tou)", "required")


def parse(data: Mapping[str, Any]) -> Tariff:
    """Validate and build a ``Tariff`` (see ``Tariff.from_dict``)."""
    data = _mapping(data, "")
    if "schema" in data and (data["schema"] != SCHEMA_VERSION or isinstance(data["schema"], bool)):
        raise TariffError(
            "schema",
            f"unsupported schema version {data['schema']!r}; expected {SCHEMA_VERSION}",
            "schema_version",
            expected=SCHEMA_VERSION,
        )
    kind = _infer_kind(data)
    _check_keys(data, _COMMON_KEYS | _KIND_KEYS[kind], "")

    unit_raw = data.get("unit", Unit.KWH.value)
    unit = _UNIT_ALIASES.get(unit_raw.lower()) if isinstance(unit_raw, str) else None
    if unit is None:
        raise TariffError("unit", f"{unit_raw!r} is not one of kWh, m3", "not_choice", allowed="kWh, m3")
    if kind is Kind.TIERED and "cycle" not in data:
        raise TariffError("cycle", "required for a tiered tariff (month or year)", "cycle_required")
    cycle: Cycle = _choice(data.get("cycle", Cycle.MONTH.value), "cycle", Cycle)
    price, blocks, prices, schedules, seasons = _parse_pricing(data, kind)

    vat_rate = _number(data.get("vat_rate", "0"), "vat_rate", places=RATE_PLACES, minimum=Decimal(0))
    if vat_rate >= 1:
        raise TariffError(
            "vat_rate", f"a fraction below 1 is expected (0.13 for 13%), not {vat_rate}", "vat_fraction"
        )
    vat_included = data.get("vat_included", True)
    if not isinstance(vat_included, bool):
        raise TariffError("vat_included", "must be true or false", "not_bool")

    fixed = _parse_fixed(data.get("fixed_charges", []))
    min_p = _optional_money(data.get("min_purchase"), "min_purchase")
    max_p = _optional_money(data.get("max_purchase"), "max_purchase")
    if min_p is not None and max_p is not None and min_p > max_p:
        raise TariffError(
            "max_purchase", f"{max_p} is below the minimum purchase {min_p}", "max_below_min", minimum=min_p
        )
    money_rounding, energy_rounding = _parse_rounding(data.get("rounding", {}))
    quota = _parse_quota(data.get("quota"))
    return Tariff(
        kind=kind,
        unit=unit,
        cycle=cycle,
        price=price,
        blocks=blocks,
        prices=prices,
        schedules=schedules,
        seasons=seasons,
        vat_rate=vat_rate,
        vat_included=vat_included,
        fixed_charges=fixed,
        min_purchase=min_p,
        max_purchase=max_p,
        money_rounding=money_rounding,
        energy_rounding=energy_rounding,
        quota=quota,
    )


_Pricing = tuple[
    Decimal | None,
    tuple[Block, ...],
    tuple[tuple[str, Decimal], ...],
    DaySchedules | None,
    tuple[Season, ...],
]


def _price(value: object, field: str) -> Decimal:
    return _number(value, field, places=PRICE_PLACES, minimum=Decimal(0), exclusive=True)


def _parse_pricing(data: Mapping[str, Any], kind: Kind) -> _Pricing:
    """(price, blocks, prices, schedules, seasons) of ``kind``; the others stay empty."""
    if kind is Kind.FLAT:
        if "price" not in data:
            raise TariffError("price", "required for a flat tariff", "required")
        return _price(data["price"], "price"), (), (), None, ()
    if kind is Kind.TIERED:
        if "blocks" not in data:
            raise TariffError("blocks", "required for a tiered tariff", "required")
        return None, _parse_blocks(data["blocks"]), (), None, ()
    if "prices" not in data:
        raise TariffError("prices", "required for a time-of-use tariff", "required")
    prices = _parse_prices(data["prices"], "prices", non_empty=True)
    names = {n for n, _ in prices}
    schedules = _parse_day_schedules(data, "", names)
    seasons = _parse_seasons(data.get("seasons", []), names)
    if schedules is None and not _seasons_cover_year(seasons):
        raise TariffError(
            "schedule", "required: the seasons do not cover every day of the year", "seasons_do_not_cover"
        )
    if "price" in data:
        price = _price(data["price"], "price")
    elif "flat" in names:
        price = dict(prices)["flat"]
    else:
        raise TariffError(
            "price",
            "required: the price prepaid energy is sold at (there is no 'flat' period to default to)",
            "tou_price_required",
        )
    return price, (), prices, schedules, seasons


def _parse_blocks(raw: object) -> tuple[Block, ...]:
    items = _list(raw, "blocks")
    blocks: list[Block] = []
    previous = Decimal(0)
    for i, item in enumerate(items):
        f = f"blocks[{i}]"
        item = _mapping(item, f)
        _check_keys(item, {"upto", "price", "label"}, f)
        if "upto" not in item:
            raise TariffError(f"{f}.upto", "required (null for the last, unbounded block)", "required")
        upto_raw = item["upto"]
        last = i == len(items) - 1
        upto: Decimal | None
        if upto_raw is None:
            if not last:
                raise TariffError(
                    f"{f}.upto", "only the last block may be unbounded (null)", "unbounded_not_last"
                )
            upto = None
        else:
            if last:
                raise TariffError(f"{f}.upto", "the last block must be unbounded (null)", "last_bounded")
            upto = _number(upto_raw, f"{f}.upto", places=3, minimum=Decimal(0), exclusive=True)
            if upto <= previous:
                raise TariffError(
                    f"{f}.upto",
                    f"must be greater than {previous}, not {upto} (blocks ascend)",
                    "not_ascending",
                    previous=previous,
                    value=upto,
                )
            previous = upto
        if "price" not in item:
            raise TariffError(f"{f}.price", "required", "required")
        price = _price(item["price"], f"{f}.price")
        label = _text(item["label"], f"{f}.label") if "label" in item else f"tier {i + 1}"
        blocks.append(Block(upto, price, label))
    return tuple(blocks)


def _parse_prices(raw: object, field: str, *, non_empty: bool) -> tuple[tuple[str, Decimal], ...]:
    mapping = _mapping(raw, field)
    if non_empty and not mapping:
        raise TariffError(field, 'must name at least one period, e.g. {"flat": "0.6500"}', "empty")
    out: list[tuple[str, Decimal]] = []
    for name, value in mapping.items():
        if not isinstance(name, str) or not _PERIOD_NAME.match(name):
            raise TariffError(
                f"{field}.{name}", "a period name is lower-case letters, digits and _", "period_name"
            )
        out.append((name, _price(value, f"{field}.{name}")))
    return tuple(out)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _parse_time(value: object, field: str, *, end: bool) -> int:
    m = _HHMM.match(value) if isinstance(value, str) else None
    if m is None:
        raise TariffError(field, f"{value!r} is not a time HH:MM", "not_time", value=value)
    hours, minutes = int(m.group(1)), int(m.group(2))
    if (hours, minutes) == (24, 0) and end:
        return MINUTES_PER_DAY
    if hours > 23 or minutes > 59:
        raise TariffError(
            field,
            f"{value!r} is not a time of day" + (" (24:00 only as an end)" if hours == 24 else ""),
            "not_time",
            value=value,
        )
    return hours * 60 + minutes


def _schedule_rows(items: list[Any], field: str, names: set[str]) -> list[tuple[Period, int]]:
    """Each row as one or two periods (a row wrapping midnight is split), with its row index."""
    periods: list[tuple[Period, int]] = []
    for i, item in enumerate(items):
        f = f"{field}[{i}]"
        if not isinstance(item, list | tuple) or len(item) != 3:
            raise TariffError(f, 'expected ["HH:MM", "HH:MM", period]', "schedule_row")
        start = _parse_time(item[0], f"{f}[0]", end=False)
        stop = _parse_time(item[1], f"{f}[1]", end=True)
        name = item[2]
        if not isinstance(name, str) or name not in names:
            priced = ", ".join(sorted(names))
            raise TariffError(
                f"{f}[2]",
                f"{name!r} has no price; priced periods: {priced}",
                "no_price",
                name=name,
                priced=priced,
            )
        if start == stop:
            raise TariffError(f, "the period is empty", "empty_period")
        if start < stop:
            periods.append((Period(start, stop, name), i))
        else:  # wraps midnight, e.g. 22:00–06:00
            periods.append((Period(start, MINUTES_PER_DAY, name), i))
            if stop:
                periods.append((Period(0, stop, name), i))
    return periods


def _parse_schedule(raw: object, field: str, names: set[str]) -> Schedule:
    """A day schedule; an overlap or a gap is reported on the row that starts it (``field[i]``)."""
    periods = sorted(_schedule_rows(_list(raw, field), field, names), key=lambda p: p[0].start)
    cursor = 0
    for p, row in periods:
        if p.start != cursor:
            at, expected = _clock(p.start), _clock(cursor)
            if p.start < cursor:
                raise TariffError(
                    f"{field}[{row}]",
                    f"the period starting at {at} overlaps the previous period (expected {expected})",
                    "overlap",
                    start=at,
                    expected=expected,
                )
            raise TariffError(
                f"{field}[{row}]",
                f"the period starting at {at} leaves a gap (expected {expected})",
                "gap",
                start=at,
                expected=expected,
            )
        cursor = p.end
    if cursor != MINUTES_PER_DAY:
        last = periods[-1][1]
        raise TariffError(
            f"{field}[{last}]",
            f"the day is not covered after {_clock(cursor)}",
            "uncovered",
            after=_clock(cursor),
        )
    return Schedule(tuple(p for p, _ in periods))


def _parse_day_schedules(data: Mapping[str, Any], prefix: str, names: set[str]) -> DaySchedules | None:
    p = f"{prefix}." if prefix else ""
    if "schedule" in data and "schedules" in data:
        raise TariffError(
            f"{p}schedules",
            "give either schedule (every day) or schedules (per day type), not both",
            "schedule_and_schedules",
        )
    if "schedule" in data:
        return DaySchedules(_parse_schedule(data["schedule"], f"{p}schedule", names))
    if "schedules" not in data:
        return None
    raw = _mapping(data["schedules"], f"{p}schedules")
    _check_keys(raw, {d.value for d in DayType}, f"{p}schedules")
    if "workday" not in raw:
        raise TariffError(
            f"{p}schedules.workday", "required (weekends and holidays fall back to it)", "workday_required"
        )
    parsed = {k: _parse_schedule(v, f"{p}schedules.{k}", names) for k, v in raw.items()}
    return DaySchedules(parsed["workday"], parsed.get("weekend"), parsed.get("holiday"))


def _parse_month_day(value: object, field: str) -> tuple[int, int]:
    m = _MMDD.match(value) if isinstance(value, str) else None
    if m is None:
        raise TariffError(field, f"{value!r} is not a month-day MM-DD", "not_month_day", value=value)
    try:
        date(2000, int(m.group(1)), int(m.group(2)))  # a leap year: 02-29 is allowed
    except ValueError as exc:
        raise TariffError(field, f"{value!r} is not a date", "not_month_day", value=value) from exc
    return int(m.group(1)), int(m.group(2))


def _parse_seasons(raw: object, names: set[str]) -> tuple[Season, ...]:
    seasons: list[Season] = []
    seen: dict[tuple[int, int], str] = {}
    for i, item in enumerate(_list(raw, "seasons", non_empty=False)):
        f = f"seasons[{i}]"
        item = _mapping(item, f)
        _check_keys(item, {"name", "from", "to", "schedule", "schedules", "prices"}, f)
        name = _text(item.get("name"), f"{f}.name")
        start = _parse_month_day(item.get("from"), f"{f}.from")
        end = _parse_month_day(item.get("to"), f"{f}.to")
        prices = _parse_prices(item.get("prices", {}), f"{f}.prices", non_empty=False)
        schedules = _parse_day_schedules(item, f, names | {n for n, _ in prices})
        if schedules is None:
            raise TariffError(f"{f}.schedule", "required", "required")
        season = Season(name, start, end, schedules, prices)
        for day in _leap_year_days():
            if season.contains(day):
                key = (day.month, day.day)
                if key in seen:
                    raise TariffError(
                        f,
                        f"overlaps season {seen[key]!r} on {day:%m-%d}",
                        "season_overlap",
                        other=seen[key],
                        day=f"{day:%m-%d}",
                    )
                seen[key] = name
        seasons.append(season)
    return tuple(seasons)


def _leap_year_days() -> list[date]:
    return [date.fromordinal(n) for n in range(date(2000, 1, 1).toordinal(), date(2001, 1, 1).toordinal())]


def _seasons_cover_year(seasons: tuple[Season, ...]) -> bool:
    return bool(seasons) and all(any(s.contains(d) for s in seasons) for d in _leap_year_days())


def _parse_fixed(raw: object) -> tuple[FixedCharge, ...]:
    charges: list[FixedCharge] = []
    for i, item in enumerate(_list(raw, "fixed_charges", non_empty=False)):
        f = f"fixed_charges[{i}]"
        item = _mapping(item, f)
        _check_keys(item, {"name", "amount", "per"}, f)
        name = _text(item.get("name"), f"{f}.name")
        if any(c.name == name for c in charges):
            raise TariffError(f"{f}.name", f"{name!r} is listed twice", "duplicate", name=name)
        amount = _number(item.get("amount"), f"{f}.amount", places=2, minimum=Decimal(0), exclusive=True)
        per: ChargeBasis = _choice(item.get("per"), f"{f}.per", ChargeBasis)
        charges.append(FixedCharge(name, amount, per))
    return tuple(charges)


def _optional_money(value: object, field: str) -> Decimal | None:
    if value is None:
        return None
    return _number(value, field, places=2, minimum=Decimal(0), exclusive=True)


def _rounding_name(value: object, field: str) -> str:
    if isinstance(value, str):
        name = value.upper()
        name = name if name.startswith("ROUND_") else f"ROUND_{name}"
        if name in ROUNDING_MODES:
            return name
    modes = ", ".join(sorted(ROUNDING_MODES))
    raise TariffError(field, f"{value!r} is not a rounding mode ({modes})", "not_choice", allowed=modes)


def _parse_rounding(raw: object) -> tuple[str, str]:
    mapping = _mapping(raw, "rounding")
    _check_keys(mapping, {"money", "energy"}, "rounding")
    return (
        _rounding_name(mapping.get("money", decimal.ROUND_HALF_UP), "rounding.money"),
        _rounding_name(mapping.get("energy", decimal.ROUND_HALF_UP), "rounding.energy"),
    )


def _parse_quota(raw: object) -> Quota | None:
    if raw is None:
        return None
    mapping = _mapping(raw, "quota")
    _check_keys(mapping, {"energy", "price", "label"}, "quota")
    energy = _number(mapping.get("energy"), "quota.energy", places=3, minimum=Decimal(0), exclusive=True)
    price = _number(mapping.get("price"), "quota.price", places=PRICE_PLACES, minimum=Decimal(0))
    label = _text(mapping["label"], "quota.label") if "label" in mapping else "quota"
    return Quota(energy, price, label)
