"""Builders for billing tests: remote-control accounts with a meter and readings."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from prepay.customers.choices import AccountMode
from prepay.meters.models import Installation
from prepay.tariffs.models import Tariff
from prepay.telemetry.models import MeterReading
from prepay.vending import ledger
from tests import factories as f
from tests.telemetry.conftest import make_sim  # noqa: F401 - the simulator fixture for test_end_to_end

SH = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=SH)


def remote_account(
    w: f.SiteWorld, *, meter: Any = None, opening: str = "0", start: datetime | None = None, **kw: Any
) -> Any:
    """An open remote-control account with ``meter`` installed at ``start`` with ``opening``."""
    meter = meter or f.meter(w)
    acc = f.account(w, mode=AccountMode.REMOTE, **kw)
    Installation.objects.create(
        meter=meter,
        account=acc,
        unit=acc.unit,
        started_at=start or at(2026, 3, 1),
        opening_reading=Decimal(opening),
    )
    meter.status = "installed"
    meter.save(update_fields=["status"])
    return acc


def read(meter: Any, when: datetime, register: str) -> MeterReading:
    reg = Decimal(register)
    return MeterReading.objects.create(meter=meter, read_at=when, register=reg, energy=reg * meter.multiplier)


def tariff(
    w: f.SiteWorld, code: str, kind: str, definition: dict[str, Any], price: str = "0", **kw: Any
) -> Tariff:
    return Tariff.objects.create(
        group=w.group,
        code=code,
        name=code,
        kind=kind,
        unit_price=Decimal(price),
        definition=definition,
        effective_from=kw.pop("effective_from", date(2026, 1, 1)),
        **kw,
    )


def meter_of(acc: Any) -> Any:
    return acc.installations.filter(ended_at__isnull=True).get().meter


def pay(acc: Any, amount: str, key: str) -> Any:
    from django.db import transaction

    from prepay.vending.models import EntryKind

    with transaction.atomic():
        return ledger.post(acc, EntryKind.PAYMENT, Decimal(amount), actor=None, idempotency_key=key)


def hours(start: datetime, n: int) -> list[datetime]:
    return [start + timedelta(hours=i) for i in range(n)]


@pytest.fixture
def a1(world: Any) -> f.SiteWorld:
    return world.a1
