"""Small builders for test data. They write rows directly (test setup, not business actions)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from prepay.customers.models import Account, Building, Customer, CustomerType, Unit
from prepay.meters.choices import MeterKind, MeterStatus
from prepay.meters.models import Installation, Meter, MeterModel
from prepay.tariffs.models import Tariff
from prepay.tenancy.models import Membership, PropertyGroup, Site

_n = itertools.count(1)
User = get_user_model()


def user(username: str | None = None, *, memberships: list[tuple[Any, Any, str]] = (), **kw: Any) -> Any:  # type: ignore[assignment]
    """A staff user; ``memberships``: (group, site or None, role) triples."""
    u = User.objects.create_user(
        username=username or f"user{next(_n)}", password="pw-Secret-123", is_staff=True, **kw
    )
    for g, s, role in memberships:
        Membership.objects.create(user=u, group=g, site=s, role=role)
    return u


@dataclass
class SiteWorld:
    """One site with a building, units, a customer type, tariffs, meter models and stock meters."""

    group: PropertyGroup
    site: Site
    building: Building
    units: list[Unit]
    ctype: CustomerType
    tariff: Tariff
    water_tariff: Tariff
    single: MeterModel
    three: MeterModel
    water: MeterModel
    meters: list[Meter] = field(default_factory=list)


def group(code: str | None = None) -> PropertyGroup:
    code = code or f"g{next(_n)}"
    return PropertyGroup.objects.create(code=code, name=f"Group {code}")


def site_world(g: PropertyGroup | None = None, code: str | None = None) -> SiteWorld:
    g = g or group()
    code = code or f"s{next(_n)}"
    site = Site.objects.create(group=g, code=code, name=f"Site {code}")
    b = Building.objects.create(site=site, code="B1", name=f"{code} Block 1", floors=6)
    units = [
        Unit.objects.create(building=b, number=f"{f}0{i}", floor=f, area=Decimal("88.5"))
        for f in (1, 2)
        for i in (1, 2)
    ]
    tariff = Tariff.objects.get_or_create(
        group=g,
        code="res-flat",
        effective_from=date(2026, 1, 1),
        defaults={"name": "Residential flat", "unit_price": Decimal("0.5880")},
    )[0]
    water_tariff = Tariff.objects.get_or_create(
        group=g,
        code="water",
        effective_from=date(2026, 1, 1),
        defaults={"name": "Water", "unit_price": Decimal("3.5000"), "utility": "water"},
    )[0]
    ctype = CustomerType.objects.get_or_create(
        group=g,
        code="res",
        defaults={
            "name": "Residential",
            "default_electricity_tariff": tariff,
            "default_water_tariff": water_tariff,
        },
    )[0]
    single = MeterModel.objects.get_or_create(
        group=g, code="dds", defaults={"name": "DDSY single-phase", "kind": MeterKind.SINGLE_PHASE}
    )[0]
    three = MeterModel.objects.get_or_create(
        group=g, code="dts", defaults={"name": "DTSY three-phase", "kind": MeterKind.THREE_PHASE}
    )[0]
    water = MeterModel.objects.get_or_create(
        group=g, code="lxs", defaults={"name": "LXS water", "kind": MeterKind.WATER, "token_system": "none"}
    )[0]
    w = SiteWorld(g, site, b, units, ctype, tariff, water_tariff, single, three, water)
    for _i in range(3):
        w.meters.append(meter(w, single))
    return w


def meter(w: SiteWorld, model: MeterModel | None = None, **kw: Any) -> Meter:
    return Meter.objects.create(
        group=w.group, site=w.site, serial=f"M{next(_n):08d}", model=model or w.single, **kw
    )


def customer(w: SiteWorld, **kw: Any) -> Customer:
    n = next(_n)
    return Customer.objects.create(
        site=w.site,
        number=kw.pop("number", f"C{n:05d}"),
        name=kw.pop("name", f"Customer {n}"),
        customer_type=w.ctype,
        **kw,
    )


def account(w: SiteWorld, *, unit: Unit | None = None, meter_: Meter | None = None, **kw: Any) -> Account:
    """An open account, with ``meter_`` installed when given."""
    acc = Account.objects.create(
        site=w.site,
        number=f"A{next(_n):07d}",
        customer=kw.pop("customer", None) or customer(w),
        unit=unit or w.units[0],
        opened_at=timezone.now(),
        **kw,
    )
    if meter_ is not None:
        Installation.objects.create(
            meter=meter_,
            account=acc,
            unit=acc.unit,
            started_at=timezone.now(),
            opening_reading=Decimal("100"),
        )
        Meter.objects.filter(pk=meter_.pk).update(status=MeterStatus.INSTALLED)
        meter_.refresh_from_db()
    return acc
