"""Weeks of readings from virtual meters in seconds: step a manual clock, sample every meter as the
poller would, and write the rows the poller would have written.

:func:`simulate` is pure (no database): it returns :class:`Sample`s, so a test module can run a fleet
once and write it for each test. Scripted actions (``play_*`` of :mod:`.thief`, a purchase …) run at
their instant, before that step's samples. An honest local-control customer (``tops_up``) enters
credit when it falls below twice the alarm level, as people do before the reminder cut.

:func:`write` stores the samples like ``prepay.telemetry.poller``: one :class:`MeterReading` per
answer (energy and TOU registers × CT × PT, the meter's credit as ``balance``), :class:`MeterEvent`s
for relay changes (``from``/``to``), for the tamper flag switching on (``detail.what`` from the
meter), ``online`` and ``offline`` (after three silent polls), and each meter's :class:`MeterLink`
as the last poll left it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from prepay.simulator.clock import ManualClock
from prepay.simulator.meter import VirtualMeter

Action = tuple[datetime, str, Callable[[Any], None]]  # (when, serial, what to do to its meter)
TOP_UP = Decimal("60")
OFFLINE_AFTER = 3


@dataclass(frozen=True)
class Sample:
    serial: str
    at: datetime
    register: Decimal | None  # None: the meter did not answer
    tou: tuple[Decimal, ...] = ()
    balance: Decimal | None = None
    relay_open: bool = False
    tamper: bool = False
    tamper_what: str = ""


def _tamper_what(vm: VirtualMeter) -> str:
    for ev in reversed(vm.events):
        if ev.kind == "tamper":
            return str(ev.detail.get("what", ""))
    return ""


def _sample(vm: VirtualMeter, at: datetime) -> Sample:
    if vm.silent:
        return Sample(vm.serial, at, None)
    if vm.local_control and getattr(vm, "tops_up", True) and vm.credit < vm.alarm_level * 2:
        vm.add_credit(TOP_UP, "token")
    out = Sample(
        vm.serial,
        at,
        vm.register(),
        tuple(vm.tou_registers()),
        vm.balance() if vm.local_control else None,
        vm.relay_open,
        vm.tamper,
        _tamper_what(vm) if vm.tamper else "",
    )
    after = getattr(vm, "after_read", None)
    if after is not None:
        after()
    return out


def simulate(
    meters: Iterable[VirtualMeter],
    clock: ManualClock,
    until: datetime,
    *,
    step: timedelta = timedelta(hours=1),
    actions: Iterable[Action] = (),
) -> list[Sample]:
    """Step ``clock`` to ``until``, running due actions, then sampling every meter, at each step."""
    fleet = {vm.serial: vm for vm in meters}
    todo = sorted(actions, key=lambda a: a[0])
    out: list[Sample] = []
    while clock.now() < until:
        now = clock.advance(step)
        while todo and todo[0][0] <= now:
            _when, serial, act = todo.pop(0)
            act(fleet[serial])
        out += [_sample(vm, now) for vm in fleet.values()]
    return out


def write(samples: Iterable[Sample], meters: dict[str, Any]) -> int:
    """Store ``samples`` for the ``Meter`` rows named by serial (see the module docstring); returns
    how many readings were written."""
    from prepay.telemetry.models import MeterEvent, MeterLink, MeterReading, RelayState

    readings, events = [], []
    state: dict[str, dict[str, Any]] = {}
    for s in samples:
        m = meters[s.serial]
        st = state.setdefault(
            s.serial, {"relay": RelayState.UNKNOWN, "tamper": False, "fails": 0, "online": False}
        )
        if s.register is None:
            st["fails"] += 1
            if st["online"] and st["fails"] >= OFFLINE_AFTER:
                st["online"] = False
                events.append(MeterEvent(meter=m, at=s.at, kind="offline", detail={"error": "timeout"}))
            continue
        if not st["online"]:
            events.append(MeterEvent(meter=m, at=s.at, kind="online", detail={}))
        st.update(online=True, fails=0, last=s.at)
        mult = m.multiplier
        sharp, peak, flat, valley = (v * mult for v in s.tou) if s.tou else (None,) * 4
        readings.append(
            MeterReading(
                meter=m,
                read_at=s.at,
                register=s.register,
                energy=s.register * mult,
                sharp=sharp,
                peak=peak,
                flat=flat,
                valley=valley,
                balance=s.balance,
            )
        )
        relay = RelayState.OPEN if s.relay_open else RelayState.CLOSED
        if relay != st["relay"] and st["relay"] != RelayState.UNKNOWN:
            events.append(
                MeterEvent(meter=m, at=s.at, kind="relay", detail={"from": st["relay"], "to": relay})
            )
        st["relay"] = relay
        if s.tamper and not st["tamper"]:
            events.append(MeterEvent(meter=m, at=s.at, kind="tamper", detail={"what": s.tamper_what}))
        st["tamper"] = s.tamper
    MeterReading.objects.bulk_create(readings, batch_size=2000)
    MeterEvent.objects.bulk_create(events, batch_size=2000)
    for serial, st in state.items():
        MeterLink.objects.update_or_create(
            meter=meters[serial],
            defaults={
                "next_poll_at": st.get("last") or datetime.now().astimezone(),
                "online": st["online"],
                "relay_state": st["relay"],
                "last_seen_at": st.get("last"),
                "fail_count": st["fails"],
            },
        )
    return len(readings)
