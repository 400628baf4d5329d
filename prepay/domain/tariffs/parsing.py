"""Parsing and writing the tariff JSON (schema version 1); see docs/tariffs.md.

Every fault raises ``TariffError`` naming the field's path, so admin forms can show it in place.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from prepay.domain.money import ROUNDING_MODES, QuantityError, to_decimal

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
        raise TariffError(field, 'a number is required (write it as a string, e.g. "0.5880")')
    try:
        d = to_decimal(value)
    except QuantityError as exc:
        if isinstance(value, float):
            raise TariffError(field, f'{value!r} is a float; write it as a string, e.g. "{value}"') from exc
        raise TariffError(field, f"{value!r} is not a number") from exc
    if d.as_tuple().exponent < -places:  # type: ignore[operator]
        raise TariffError(field, f"{d} has more than {places} decimal places")
    if d < minimum or (exclusive and d == minimum):
        raise TariffError(field, f"must be {'greater than' if exclusive else 'at least'} {minimum}, not {d}")
    return d + 0  # normalise -0


def _text(value: object, field: str, *, max_length: int = 64) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TariffError(field, "a non-empty text is required")
    if len(value) > max_length:
        raise TariffError(field, f"at most {max_length} characters")
    return value.strip()


def _choice(value: object, field: str, enum: type[StrEnum]) -> Any:
    allowed = [e.value for e in enum]
    if not isinstance(value, str) or value not in allowed:
        raise TariffError(field, f"{value!r} is not one of {', '.join(allowed)}")
    return enum(value)


def _mapping(value: object, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TariffError(field, "must be an object")
    return value


def _list(value: object, field: str, *, non_empty: bool = True) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise TariffError(field, "must be a list")
    if non_empty and not value:
        raise TariffError(field, "must not be empty")
    return list(value)


def _check_keys(data: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        where = f"{prefix}." if prefix else ""
        raise TariffError(f"{where}{unknown[0]}", f"unknown key; allowed here: {', '.join(sorted(allowed))}")


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
    raise TariffError("kind", "required (flat, tiered or tou)")


def parse(data: Mapping[str, Any]) -> Tariff:
    """Validate and build a ``Tariff`` (see ``Tariff.from_dict``)."""
    data = _mapping(data, "")
    if "schema" in data and (data["schema"] != SCHEMA_VERSION or isinstance(data["schema"], bool)):
        raise TariffError(
            "schema", f"unsupported schema version {data['schema']!r}; expected {SCHEMA_VERSION}"
        )
    kind = _infer_kind(data)
    _check_keys(data, _COMMON_KEYS | _KIND_KEYS[kind], "")

    unit_raw = data.get("unit", Unit.KWH.value)
    unit = _UNIT_ALIASES.get(unit_raw.lower()) if isinstance(unit_raw, str) else None
    if unit is None:
        raise TariffError("unit", f"{unit_raw!r} is not one of kWh, m3")
    if kind is Kind.TIERED and "cycle" not in data:
        raise TariffError("cycle", "required for a tiered tariff (month or year)")
    cycle: Cycle = _choice(data.get("cycle", Cycle.MONTH.value), "cycle", Cycle)

    price: Decimal | None = None
    blocks: tuple[Block, ...] = ()
    prices: tuple[tuple[str, Decimal], ...] = ()
    schedules: DaySchedules | None = None
    seasons: tuple[Season, ...] = ()
    if kind is Kind.FLAT:
        if "price" not in data:
            raise TariffError("price", "required for a flat tariff")
        price = _number(data["price"], "price", places=PRICE_PLACES, minimum=Decimal(0), exclusive=True)
    elif kind is Kind.TIERED:
        if "blocks" not in data:
            raise TariffError("blocks", "required for a tiered tariff")
        blocks = _parse_blocks(data["blocks"])
    else:
        if "prices" not in data:
            raise TariffError("prices", "required for a time-of-use tariff")
        prices = _parse_prices(data["prices"], "prices", non_empty=True)
        names = {n for n, _ in prices}
        schedules = _parse_day_schedules(data, "", names)
        seasons = _parse_seasons(data.get("seasons", []), names)
        if schedules is None and not _seasons_cover_year(seasons):
            raise TariffError("schedule", "required: the seasons do not cover every day of the year")
        if "price" in data:
            price = _number(data["price"], "price", places=PRICE_PLACES, minimum=Decimal(0), exclusive=True)
        elif "flat" in names:
            price = dict(prices)["flat"]
        else:
            raise TariffError(
                "price",
                "required: the price prepaid energy is sold at (there is no 'flat' period to default to)",
            )

    vat_rate = _number(data.get("vat_rate", "0"), "vat_rate", places=RATE_PLACES, minimum=Decimal(0))
    if vat_rate >= 1:
        raise TariffError("vat_rate", f"a fraction below 1 is expected (0.13 for 13%), not {vat_rate}")
    vat_included = data.get("vat_included", True)
    if not isinstance(vat_included, bool):
        raise TariffError("vat_included", "must be true or false")

    fixed = _parse_fixed(data.get("fixed_charges", []))
    min_p = _optional_money(data.get("min_purchase"), "min_purchase")
    max_p = _optional_money(data.get("max_purchase"), "max_purchase")
    if min_p is not None and max_p is not None and min_p > max_p:
        raise TariffError("max_purchase", f"{max_p} is below the minimum purchase {min_p}")
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


def _parse_blocks(raw: object) -> tuple[Block, ...]:
    items = _list(raw, "blocks")
    blocks: list[Block] = []
    previous = Decimal(0)
    for i, item in enumerate(items):
        f = f"blocks[{i}]"
        item = _mapping(item, f)
        _check_keys(item, {"upto", "price", "label"}, f)
        if "upto" not in item:
            raise TariffError(f"{f}.upto", "required (null for the last, unbounded block)")
        upto_raw = item["upto"]
        last = i == len(items) - 1
        upto: Decimal | None
        if upto_raw is None:
            if not last:
                raise TariffError(f"{f}.upto", "only the last block may be unbounded (null)")
            upto = None
        else:
            if last:
                raise TariffError(f"{f}.upto", "the last block must be unbounded (null)")
            upto = _number(upto_raw, f"{f}.upto", places=3, minimum=previous, exclusive=True)
            previous = upto
        if "price" not in item:
            raise TariffError(f"{f}.price", "required")
        price = _number(item["price"], f"{f}.price", places=PRICE_PLACES, minimum=Decimal(0), exclusive=True)
        label = _text(item["label"], f"{f}.label") if "label" in item else f"tier {i + 1}"
        blocks.append(Block(upto, price, label))
    return tuple(blocks)


def _parse_prices(raw: object, field: str, *, non_empty: bool) -> tuple[tuple[str, Decimal], ...]:
    mapping = _mapping(raw, field)
    if non_empty and not mapping:
        raise TariffError(field, 'must name at least one period, e.g. {"flat": "0.6500"}')
    out: list[tuple[str, Decimal]] = []
    for name, value in mapping.items():
        if not isinstance(name, str) or not _PERIOD_NAME.match(name):
            raise TariffError(f"{field}.{name}", "a period name is lower-case letters, digits and _")
        out.append(
            (name, _number(value, f"{field}.{name}", places=PRICE_PLACES, minimum=Decimal(0), exclusive=True))
        )
    return tuple(out)


def _parse_time(value: object, field: str, *, end: bool) -> int:
    m = _HHMM.match(value) if isinstance(value, str) else None
    if m is None:
        raise TariffError(field, f"{value!r} is not a time HH:MM")
    hours, minutes = int(m.group(1)), int(m.group(2))
    if (hours, minutes) == (24, 0) and end:
        return MINUTES_PER_DAY
    if hours > 23 or minutes > 59:
        raise TariffError(
            field, f"{value!r} is not a time of day" + (" (24:00 only as an end)" if hours == 24 else "")
        )
    return hours * 60 + minutes


def _parse_schedule(raw: object, field: str, names: set[str]) -> Schedule:
    items = _list(raw, field)
    periods: list[Period] = []
    for i, item in enumerate(items):
        f = f"{field}[{i}]"
        if not isinstance(item, list | tuple) or len(item) != 3:
            raise TariffError(f, 'expected ["HH:MM", "HH:MM", period]')
        start = _parse_time(item[0], f"{f}[0]", end=False)
        stop = _parse_time(item[1], f"{f}[1]", end=True)
        name = item[2]
        if not isinstance(name, str) or name not in names:
            raise TariffError(f"{f}[2]", f"{name!r} has no price; priced periods: {', '.join(sorted(names))}")
        if start == stop:
            raise TariffError(f, "the period is empty")
        if start < stop:
            periods.append(Period(start, stop, name))
        else:  # wraps midnight, e.g. 22:00–06:00
            periods.append(Period(start, MINUTES_PER_DAY, name))
            if stop:
                periods.append(Period(0, stop, name))
    periods.sort(key=lambda p: p.start)
    cursor = 0
    for p in periods:
        if p.start != cursor:
            clock = f"{cursor // 60:02d}:{cursor % 60:02d}"
            problem = "overlaps the previous period" if p.start < cursor else "leaves a gap"
            raise TariffError(
                field,
                f"the period starting at {p.start // 60:02d}:{p.start % 60:02d} {problem} (expected {clock})",
            )
        cursor = p.end
    if cursor != MINUTES_PER_DAY:
        raise TariffError(field, f"the day is not covered after {cursor // 60:02d}:{cursor % 60:02d}")
    return Schedule(tuple(periods))


def _parse_day_schedules(data: Mapping[str, Any], prefix: str, names: set[str]) -> DaySchedules | None:
    p = f"{prefix}." if prefix else ""
    if "schedule" in data and "schedules" in data:
        raise TariffError(
            f"{p}schedules", "give either schedule (every day) or schedules (per day type), not both"
        )
    if "schedule" in data:
        return DaySchedules(_parse_schedule(data["schedule"], f"{p}schedule", names))
    if "schedules" not in data:
        return None
    raw = _mapping(data["schedules"], f"{p}schedules")
    _check_keys(raw, {d.value for d in DayType}, f"{p}schedules")
    if "workday" not in raw:
        raise TariffError(f"{p}schedules.workday", "required (weekends and holidays fall back to it)")
    parsed = {k: _parse_schedule(v, f"{p}schedules.{k}", names) for k, v in raw.items()}
    return DaySchedules(parsed["workday"], parsed.get("weekend"), parsed.get("holiday"))


def _parse_month_day(value: object, field: str) -> tuple[int, int]:
    m = _MMDD.match(value) if isinstance(value, str) else None
    if m is None:
        raise TariffError(field, f"{value!r} is not a month-day MM-DD")
    try:
        date(2000, int(m.group(1)), int(m.group(2)))  # a leap year: 02-29 is allowed
    except ValueError as exc:
        raise TariffError(field, f"{value!r} is not a date") from exc
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
            raise TariffError(f"{f}.schedule", "required")
        season = Season(name, start, end, schedules, prices)
        for day in _leap_year_days():
            if season.contains(day):
                key = (day.month, day.day)
                if key in seen:
                    raise TariffError(f, f"overlaps season {seen[key]!r} on {day:%m-%d}")
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
            raise TariffError(f"{f}.name", f"{name!r} is listed twice")
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
    raise TariffError(field, f"{value!r} is not a rounding mode ({', '.join(sorted(ROUNDING_MODES))})")


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


# --------------------------------------------------------------------------------------------------
# writing back


def write(t: Tariff) -> dict[str, Any]:
    """The canonical version-1 dict of ``t`` (see ``Tariff.to_dict``)."""
    out: dict[str, Any] = {"schema": SCHEMA_VERSION, "kind": t.kind.value, "unit": t.unit.value}
    out["cycle"] = t.cycle.value
    if t.price is not None:
        out["price"] = str(t.price)
    if t.kind is Kind.TIERED:
        out["blocks"] = [
            {"upto": None if b.upto is None else str(b.upto), "price": str(b.price), "label": b.label}
            for b in t.blocks
        ]
    if t.kind is Kind.TOU:
        out["prices"] = {name: str(p) for name, p in t.prices}
        if t.schedules is not None:
            out.update(_schedules_to_dict(t.schedules))
        if t.seasons:
            out["seasons"] = [_season_to_dict(s) for s in t.seasons]
    out["vat_rate"] = str(t.vat_rate)
    out["vat_included"] = t.vat_included
    out["fixed_charges"] = [
        {"name": c.name, "amount": str(c.amount), "per": c.per.value} for c in t.fixed_charges
    ]
    out["min_purchase"] = None if t.min_purchase is None else str(t.min_purchase)
    out["max_purchase"] = None if t.max_purchase is None else str(t.max_purchase)
    out["rounding"] = {"money": t.money_rounding, "energy": t.energy_rounding}
    out["quota"] = (
        None
        if t.quota is None
        else {"energy": str(t.quota.energy), "price": str(t.quota.price), "label": t.quota.label}
    )
    return out


def _minutes_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _schedule_to_list(schedule: Schedule) -> list[list[str]]:
    return [[_minutes_text(p.start), _minutes_text(p.end), p.name] for p in schedule.periods]


def _schedules_to_dict(s: DaySchedules) -> dict[str, Any]:
    if s.weekend is None and s.holiday is None:
        return {"schedule": _schedule_to_list(s.workday)}
    out = {"workday": _schedule_to_list(s.workday)}
    if s.weekend is not None:
        out["weekend"] = _schedule_to_list(s.weekend)
    if s.holiday is not None:
        out["holiday"] = _schedule_to_list(s.holiday)
    return {"schedules": out}


def _season_to_dict(s: Season) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": s.name,
        "from": f"{s.start[0]:02d}-{s.start[1]:02d}",
        "to": f"{s.end[0]:02d}-{s.end[1]:02d}",
    }
    out.update(_schedules_to_dict(s.schedules))
    if s.prices:
        out["prices"] = {n: str(p) for n, p in s.prices}
    return out
