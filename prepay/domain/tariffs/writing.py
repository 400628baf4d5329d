"""Writing a ``Tariff`` back as the canonical version-1 dict (see ``Tariff.to_dict``)."""

from __future__ import annotations

from typing import Any

from .schema import SCHEMA_VERSION, DaySchedules, Kind, Schedule, Season, Tariff


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
