"""Fixtures and helpers for the analysis tests (test setup writes rows directly)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from prepay.telemetry.models import MeterEvent, MeterLink, MeterReading

SH = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, s, tzinfo=SH)


def read(
    meter: Any,
    when: datetime,
    register: str | Decimal,
    *,
    balance: str | Decimal | None = None,
    tou: tuple[Any, Any, Any, Any] | None = None,
) -> MeterReading:
    """A reading as the poller stores it: energy (and TOU) = register × CT × PT."""
    reg = Decimal(register)
    mult = meter.multiplier
    sharp, peak, flat, valley = (None if v is None else Decimal(v) * mult for v in (tou or (None,) * 4))
    return MeterReading.objects.create(
        meter=meter,
        read_at=when,
        register=reg,
        energy=reg * mult,
        balance=None if balance is None else Decimal(balance),
        sharp=sharp,
        peak=peak,
        flat=flat,
        valley=valley,
    )


def relay(meter: Any, when: datetime, before: str, after: str) -> MeterEvent:
    return MeterEvent.objects.create(meter=meter, at=when, kind="relay", detail={"from": before, "to": after})


def link(meter: Any, *, relay_state: str = "closed", online: bool = True, **kw: Any) -> MeterLink:
    return MeterLink.objects.create(
        meter=meter,
        next_poll_at=datetime(2026, 1, 1, tzinfo=SH),
        relay_state=relay_state,
        online=online,
        **kw,
    )
