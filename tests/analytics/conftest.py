"""Fixtures and helpers for the analysis tests (test setup writes rows directly)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

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


BYPASS = {"code": "bypass", "points": 80, "params": {"energy": "10.2", "steps": "24", "days": "7"}}
LOW = {
    "code": "low_own",
    "points": 60,
    "params": {"days": "9", "usage": "0.4", "percent": "92", "median": "5.1"},
}


def case(w: Any, *, score: int = 80, reasons: list[dict[str, Any]] | None = None, **kw: Any) -> Any:
    """An open case at site world ``w`` on a new account (test setup writes it directly)."""
    from datetime import date

    from prepay.analytics.models import Case
    from tests import factories as f

    reasons = reasons if reasons is not None else [BYPASS]
    unit = kw.pop("unit", w.units[0])
    acc = kw.pop("account", None) or f.account(
        w, unit=unit, customer=kw.pop("customer", None) or f.customer(w)
    )
    return Case.objects.create(
        site=w.site,
        account=acc,
        opened_on=kw.pop("opened_on", date(2026, 6, 9)),
        last_day=kw.pop("last_day", date(2026, 6, 11)),
        score=score,
        reasons=reasons,
        signals="," + ",".join(r["code"] for r in reasons) + ",",
        **kw,
    )


@dataclass
class Cases:
    world: Any
    bypass: Any  # A1, score 80
    low: Any  # A1, score 60, low_own
    checked: Any  # A1, checked false alarm
    a2: Any  # site A2
    b1: Any  # group B


@pytest.fixture
def cases(world: Any) -> Cases:
    from prepay.analytics.choices import CaseStatus

    w = world
    return Cases(
        w,
        bypass=case(w.a1),
        low=case(w.a1, score=60, reasons=[LOW], unit=w.a1.units[1]),
        checked=case(
            w.a1,
            score=55,
            status=CaseStatus.CHECKED,
            outcome="false_alarm",
            note="seal intact",
            unit=w.a1.units[2],
        ),
        a2=case(w.a2, score=90),
        b1=case(w.b1, score=95),
    )
