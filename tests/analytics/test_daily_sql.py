"""The daily SQL (``prepay.analytics.daily.summarise``) computes exactly what the pure reference
(``prepay.domain.anomaly.summarise_day``) computes, on crafted cases and on seeded random meters."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from prepay.analytics.daily import day_bounds, summarise
from prepay.analytics.models import DailyUsage
from prepay.domain.anomaly import Point, RelayChange, register_capacity, relay_open_at, summarise_day
from prepay.meters.models import Installation
from prepay.telemetry.models import MeterEvent, MeterLink, MeterReading
from tests import factories as f
from tests.analytics.conftest import at, link, read, relay

D1, D2, D3 = date(2026, 6, 1), date(2026, 6, 2), date(2026, 6, 3)
FIELDS = [
    "readings",
    "open_readings",
    "exhausted_readings",
    "first_at",
    "last_at",
    "usage",
    "backwards",
    "backwards_steps",
    "reset_steps",
    "reset_drop",
    "reset_at",
    "reset_from",
    "reset_to",
    "max_step",
    "max_step_secs",
    "max_step_at",
    "bypass",
    "bypass_steps",
    "credit_added",
    "sharp",
    "peak",
    "flat",
    "valley",
]


def _int(v: Decimal | None, places: int = 3) -> int | None:
    return None if v is None else int(Decimal(v).scaleb(places))


def reference(meter: Any, day: date, *, first: date) -> dict[str, Any] | None:
    """What the pure rules say about ``meter`` on ``day`` from its stored readings and events, when the
    days are summarised in order from ``first`` (the day before it has no row to continue from)."""
    start, end = day_bounds(day)
    changes = [
        RelayChange(e.at, e.detail.get("from", ""), e.detail.get("to", ""))
        for e in MeterEvent.objects.filter(meter=meter, kind="relay").order_by("at", "pk")
    ]
    state = MeterLink.objects.filter(meter=meter).values_list("relay_state", flat=True).first() or "unknown"

    def point(r: MeterReading, prev: bool = False) -> Point:
        tou = tuple(_int(getattr(r, k)) for k in ("sharp", "peak", "flat", "valley"))
        return Point(
            r.read_at,
            _int(r.register),
            _int(r.energy),
            _int(r.balance, 2),
            tou,  # type: ignore[arg-type]
            relay_open_at(changes, state, r.read_at),
            prev,
        )

    rows = MeterReading.objects.filter(meter=meter)
    today = [point(r) for r in rows.filter(read_at__gte=start, read_at__lt=end).order_by("read_at")]
    before = rows.filter(read_at__lt=start).order_by("-read_at").first() if day > first else None
    points = ([point(before, True)] if before is not None else []) + today
    s = summarise_day(points, capacity=register_capacity(6), multiplier=meter.multiplier)
    if not s.readings:
        return None
    out = {k: getattr(s, k) for k in FIELDS if k not in ("sharp", "peak", "flat", "valley")}
    out.update(zip(("sharp", "peak", "flat", "valley"), s.tou, strict=True))
    return out


def stored(meter: Any, day: date) -> dict[str, Any] | None:
    row = DailyUsage.objects.filter(meter=meter, day=day).first()
    if row is None:
        return None
    out: dict[str, Any] = {}
    for k in FIELDS:
        v = getattr(row, k)
        out[k] = _int(v, 2 if k == "credit_added" else 3) if isinstance(v, Decimal) else v
    return out


def check(meters: list[Any], days: list[date], site: Any, *, lateral: bool | None = None) -> None:
    DailyUsage.objects.all().delete()
    for day in days:
        summarise(site.pk, day, lateral=lateral)
        for m in meters:
            assert stored(m, day) == reference(m, day, first=days[0]), (m.serial, day)


class DailySqlTestCase:
    def test_it_counts_forward_use_across_midnight_with_the_multiplier(self, world):
        m = f.meter(world.a1, world.a1.three, ct_ratio=50)
        acc = f.account(world.a1, meter_=m)
        Installation.objects.filter(meter=m).update(started_at=at(2026, 5, 1))
        read(m, at(2026, 6, 1, 22), "10.00")
        read(m, at(2026, 6, 2, 1), "10.50")
        read(m, at(2026, 6, 2, 23), "11.00")
        summarise(world.a1.site.pk, D1)
        summarise(world.a1.site.pk, D2)
        row = DailyUsage.objects.get(meter=m, day=D2)
        assert row.usage == Decimal("50.000") and row.readings == 2 and row.account == acc
        assert row.max_step == Decimal("25.000") and row.max_step_secs == 3 * 3600
        assert not DailyUsage.objects.filter(day=D3).exists()

    def test_it_tells_rollover_reset_and_backwards_apart(self, world):
        roll, reset, back = (f.meter(world.a1) for _ in range(3))
        for m, values in (
            (roll, ["999990", "999999", "11"]),
            (reset, ["5000", "5001", "0.5", "1.5"]),
            (back, ["300", "299", "298.5"]),
        ):
            for i, v in enumerate(values):
                read(m, at(2026, 6, 1, 8 + i), v)
        check([roll, reset, back], [D1], world.a1.site)
        r, z, b = (DailyUsage.objects.get(meter=m) for m in (roll, reset, back))
        assert r.usage == Decimal("21.000") and (r.backwards, r.reset_steps) == (0, 0)
        assert z.reset_steps == 1 and z.reset_from == Decimal("5001.000") and z.usage == Decimal("2.000")
        assert b.backwards == Decimal("1.500") and b.backwards_steps == 2 and b.usage == 0

    def test_it_counts_use_while_the_relay_is_open_or_the_credit_exhausted(self, world):
        cut, broke = f.meter(world.a1), f.meter(world.a1)
        link(cut)
        for h, reg in enumerate(["1", "2", "3", "4", "5"]):
            read(cut, at(2026, 6, 1, 8 + h), reg)
        relay(cut, at(2026, 6, 1, 9), "closed", "open")
        for h, (reg, bal) in enumerate([("1", "3"), ("2", "0"), ("2.5", "0"), ("3", "0"), ("4", "9")]):
            read(broke, at(2026, 6, 1, 8 + h), reg, balance=bal)
        check([cut, broke], [D1], world.a1.site)
        c, b = DailyUsage.objects.get(meter=cut), DailyUsage.objects.get(meter=broke)
        assert (c.bypass, c.bypass_steps, c.open_readings) == (Decimal("3.000"), 3, 4)
        assert (b.bypass, b.bypass_steps, b.exhausted_readings) == (Decimal("1.000"), 2, 3)
        assert b.credit_added == Decimal("9.00")

    def test_it_reads_the_relay_state_before_the_first_event_and_from_the_link(self, world):
        early, linked = f.meter(world.a1), f.meter(world.a1)
        link(linked, relay_state="open")
        relay(early, at(2026, 6, 5), "open", "closed")  # it was open until June 5
        for m in (early, linked):
            for h in range(3):
                read(m, at(2026, 6, 1, 8 + h), str(h))
        check([early, linked], [D1], world.a1.site)
        assert DailyUsage.objects.get(meter=early).bypass == Decimal("2.000")
        assert DailyUsage.objects.get(meter=linked).open_readings == 3

    def test_it_keeps_time_of_use_deltas_and_leaves_absent_registers_empty(self, world):
        m = f.meter(world.a1)
        read(m, at(2026, 6, 1, 8), "10", tou=("1", "2", "3", "4"))
        read(m, at(2026, 6, 1, 20), "16", tou=("1", "5", "4", "5"))
        check([m], [D1], world.a1.site)
        row = DailyUsage.objects.get(meter=m)
        assert (row.sharp, row.peak, row.flat, row.valley) == (0, 3, 1, 1)
        plain = f.meter(world.a1)
        read(plain, at(2026, 6, 1, 8), "10")
        summarise(world.a1.site.pk, D1)
        assert DailyUsage.objects.get(meter=plain).peak is None

    def test_it_replaces_a_day_when_run_again(self, world):
        m = f.meter(world.a1)
        read(m, at(2026, 6, 1, 8), "1")
        read(m, at(2026, 6, 1, 9), "2")
        assert summarise(world.a1.site.pk, D1) == 1
        read(m, at(2026, 6, 1, 10), "4")
        assert summarise(world.a1.site.pk, D1) == 1
        assert DailyUsage.objects.get(meter=m).usage == Decimal("3.000")

    def test_it_leaves_other_sites_alone(self, world):
        here, there = f.meter(world.a1), f.meter(world.b1)
        for m in (here, there):
            read(m, at(2026, 6, 1, 8), "1")
        summarise(world.a1.site.pk, D1)
        assert list(DailyUsage.objects.values_list("meter_id", flat=True)) == [here.pk]

    def test_it_agrees_with_the_reference_on_random_meters(self, world):
        meters = random_fleet(world, seed=11)
        check(meters, [D1, D2, D3], world.a1.site)


def random_fleet(world: Any, *, seed: int, n: int = 8) -> list[Any]:
    """Meters with three days of irregular readings: falls, resets, rollovers, relay changes,
    credit ups and downs, TOU registers on some, gaps."""
    rnd = random.Random(seed)
    meters = []
    for i in range(n):
        m = f.meter(
            world.a1, world.a1.three if i % 3 == 0 else world.a1.single, ct_ratio=rnd.choice([1, 1, 40])
        )
        link(m, relay_state=rnd.choice(["closed", "open", "unknown"]))
        reg = Decimal(rnd.choice(["0", "120.5", "999000"]))
        bal = Decimal(rnd.randrange(0, 50))
        t = at(2026, 5, 31, 20)
        tou = [Decimal(0)] * 4
        while t < at(2026, 6, 4):
            t += timedelta(minutes=rnd.choice([15, 15, 15, 60, 240]))
            roll = rnd.random()
            if roll < 0.03:
                reg = (reg * Decimal("0.01")).quantize(Decimal("0.01"))  # reset
            elif roll < 0.08:
                reg -= Decimal(rnd.randrange(1, 300)) / 100  # backwards
            else:
                step = Decimal(rnd.randrange(0, 400)) / 100
                reg = (reg + step) % Decimal("1000000")
                tou[rnd.randrange(4)] += step
            bal = max(Decimal(0), bal - Decimal(rnd.randrange(0, 200)) / 100)
            if rnd.random() < 0.05:
                bal += 30
            read(
                m,
                t,
                max(reg, Decimal(0)),
                balance=bal if i % 2 else None,
                tou=tuple(tou) if i % 4 == 1 else None,
            )
            if rnd.random() < 0.02:
                state = rnd.choice(["open", "closed"])
                relay(
                    m,
                    t + timedelta(seconds=rnd.choice([0, 1, 30])),
                    "closed" if state == "open" else "open",
                    state,
                )
        meters.append(m)
    return meters


@pytest.mark.usefixtures("pg_transactional")
class DailySqlOnPostgresTestCase:
    def test_it_gives_the_same_rows_per_meter_and_for_the_whole_site(self, world):
        meters = random_fleet(world, seed=23)
        check(meters, [D1, D2, D3], world.a1.site, lateral=True)
        lateral = list(DailyUsage.objects.order_by("meter_id", "day").values())
        check(meters, [D1, D2, D3], world.a1.site, lateral=False)
        plain = list(DailyUsage.objects.order_by("meter_id", "day").values())
        strip = [{k: v for k, v in r.items() if k != "id"} for r in lateral]
        assert strip == [{k: v for k, v in r.items() if k != "id"} for r in plain]
