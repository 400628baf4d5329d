"""A simulated site for the analysis tests: ordinary households and one thief (or broken meter, or
empty flat) of each kind, five weeks of hourly readings from ``prepay.simulator`` (history + thief).

The fleet is simulated once per test session (pure Python, cached) and written for each test that
asks for it. The analysed day is :data:`DAY`, the day before the ``clock`` fixture's today.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from prepay.analytics import daily
from prepay.analytics.models import AnalyticsSettings
from prepay.billing.models import SubMeter
from prepay.customers.models import Account, Customer, Unit
from prepay.meters.models import Installation, Meter
from prepay.simulator.clock import ManualClock
from prepay.simulator.history import Sample, simulate, write
from prepay.simulator.meter import VirtualMeter
from prepay.simulator.thief import (
    ThiefMeter,
    play_bypass,
    play_divert,
    play_jump,
    play_offline,
    play_reset,
    play_reversed,
    play_tamper,
    play_vacant,
)
from prepay.vending.models import Vend, VendingPoint

SH = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 6, 11)
HISTORY_DAYS = 37
START = datetime.combine(DAY - timedelta(days=HISTORY_DAYS - 1), time.min, tzinfo=SH)
END = datetime.combine(DAY + timedelta(days=1), time.min, tzinfo=SH)
#: a shorter baseline than the default, so five weeks of history are enough
SETTINGS = {"baseline_days": 28, "lookback_days": 28}
OPENING = Decimal("100")


def at(days_before: int, hour: int = 10) -> datetime:
    """``hour`` o'clock ``days_before`` days before :data:`DAY`."""
    return datetime.combine(DAY - timedelta(days=days_before), time(hour), tzinfo=SH)


#: role → what happens to its meter (when, action); every role is one account
THIEVES: dict[str, list[tuple[datetime, Callable[[Any], None]]]] = {
    "bypass": [(at(6), lambda vm: (play_bypass(vm), setattr(vm, "credit", Decimal("4"))))],
    "divert": [(at(9), lambda vm: play_divert(vm, 0.92))],
    "tamper": [
        (at(5), lambda vm: play_tamper(vm, "cover_open")),
        (at(3), lambda vm: play_tamper(vm, "magnetic")),
        (at(1), lambda vm: play_tamper(vm, "magnetic")),
    ],
    "reversed": [(at(3), play_reversed)],
    "reset": [(at(2, 14), play_reset)],
    "jump": [(at(2, 3), lambda vm: play_jump(vm, Decimal("150")))],
    "vacant": [(at(8, 0), play_vacant)],
    "offline": [(at(11), play_offline)],
    "token": [(at(12), lambda vm: setattr(vm, "tops_up", False))],
    "honest_token": [(at(12), lambda vm: setattr(vm, "tops_up", False))],
    "branch_thief": [(at(9), lambda vm: play_divert(vm, 0.9))],
}
#: purchases (days before DAY, register units): the thief never enters its tokens, the honest one does
TOKENS = {"token": [(6, "80"), (4, "80")], "honest_token": [(6, "80"), (4, "80")]}
ORDINARY = 14
BRANCH = 3  # honest households on the master meter's branch, beside the branch thief


def serial(role: str) -> str:
    return f"SIM-{role}"


def roles() -> list[str]:
    return (
        [f"ordinary{i:02d}" for i in range(ORDINARY)] + [f"branch{i}" for i in range(BRANCH)] + list(THIEVES)
    )


class Master(VirtualMeter):
    """The master meter of a branch: its register is what its households really draw."""

    children: list[ThiefMeter]

    def register(self) -> Decimal:
        return (OPENING * len(self.children) + sum((c.drawn for c in self.children), Decimal(0))).quantize(
            Decimal("0.01")
        )

    def tou_registers(self) -> list[Decimal]:
        return [Decimal(0)] * 4


class Drawing(ThiefMeter):
    """A household meter that also keeps what the household drew, metered or not."""

    drawn: Decimal = Decimal(0)

    def advance(self, to: datetime | None = None) -> None:
        before = self.energy
        share = self.metered_share
        super().advance(to)
        if share > 0:
            self.drawn += (self.energy - before) / Decimal(str(share))


def _meter(role: str, clock: ManualClock) -> Drawing:
    s = serial(role)
    return Drawing(
        serial=s,
        clock=clock,
        seed=zlib.crc32(s.encode()),
        credit=Decimal("200"),
        energy=OPENING,
    )


@cache
def samples() -> tuple[Sample, ...]:
    """The whole fleet's readings, simulated once."""
    clock = ManualClock(START)
    meters = {role: _meter(role, clock) for role in roles()}
    master = Master(serial=serial("master"), clock=clock, kind="three_phase", local_control=False)
    master.children = [meters[r] for r in meters if r.startswith("branch")]
    actions = [(when, serial(role), act) for role, acts in THIEVES.items() for when, act in acts]
    for days, units in TOKENS["honest_token"]:
        actions.append(
            (at(days, 11), serial("honest_token"), lambda vm, u=units: vm.add_credit(Decimal(u), "token"))
        )
    return tuple(simulate([*meters.values(), master], clock, END, actions=actions))


@dataclass
class Fleet:
    site: Any
    accounts: dict[str, Account] = field(default_factory=dict)
    meters: dict[str, Meter] = field(default_factory=dict)

    def account(self, role: str) -> Account:
        return self.accounts[role]


def build(world: Any, *, analyse_days: int = 0) -> Fleet:
    """Write the fleet at site A1; summarise every day of its history but the last ``analyse_days``."""
    w = world.a1
    AnalyticsSettings.objects.update_or_create(site=w.site, defaults=SETTINGS)
    fleet = Fleet(w.site)
    installed = START - timedelta(days=1)
    for i, role in enumerate(roles()):
        unit = Unit.objects.create(building=w.building, number=f"S{i:03d}", floor=3, area=Decimal("88.5"))
        meter = Meter.objects.create(
            group=w.group, site=w.site, serial=serial(role), model=w.single, status="installed"
        )
        customer = Customer.objects.create(
            site=w.site, number=f"SC{i:03d}", name=f"Household {role}", customer_type=w.ctype
        )
        acc = Account.objects.create(
            site=w.site, number=f"SA{i:03d}", customer=customer, unit=unit, opened_at=installed
        )
        Installation.objects.create(
            meter=meter, account=acc, unit=unit, started_at=installed, opening_reading=OPENING
        )
        fleet.accounts[role], fleet.meters[role] = acc, meter
    master = Meter.objects.create(
        group=w.group, site=w.site, serial=serial("master"), model=w.three, status="installed"
    )
    fleet.meters["master"] = master
    SubMeter.objects.create(meter=master)
    for role in roles():
        if role.startswith("branch"):
            SubMeter.objects.create(meter=fleet.meters[role], master=master)
    _vends(fleet)
    write(samples(), {m.serial: m for m in fleet.meters.values()})
    day = START.date()
    while day <= DAY - timedelta(days=analyse_days):
        daily.summarise(w.site.pk, day)
        day += timedelta(days=1)
    return fleet


def _vends(fleet: Fleet) -> None:
    point = VendingPoint.objects.create(site=fleet.site, code="sim", name="Counter")
    for role, buys in TOKENS.items():
        acc, meter = fleet.account(role), fleet.meters[role]
        for n, (days, units) in enumerate(buys):
            v = Vend.objects.create(
                account=acc,
                meter=meter,
                point=point,
                amount=Decimal(units) / 2,
                credit_amount=Decimal(units) / 2,
                energy=Decimal(units),
                register_units=Decimal(units),
                receipt_no=f"SIM-{role}-{n}",
                idempotency_key=f"sim-{role}-{n}",
            )
            Vend.objects.filter(pk=v.pk).update(created_at=at(days, 9))
