"""Poller benchmark: 5,000 simulated meters over Modbus TCP and over DL/T 645, on PostgreSQL.

Usage (a database of your own; it is migrated and its bench rows replaced)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/prepay_bench_poll .venv/bin/python bench/poll.py [--n 5000]

The virtual meters run in a child process (the other core), ``per-port`` meters per listener as
behind RS-485 gateways. For each protocol the benchmark runs one full poll pass over every meter
(claim, talk, bulk-insert readings, update links) and prints meters/s. Then it prints the rows/s of
the readings' bulk insert (``bulk_create``, as the poller does) beside the rows/s of a raw
``COPY`` of the same rows into the same table (psycopg), measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prepay.settings")

PROTOCOLS = ("modbus_tcp", "dlt645")
PER_PORT = {"modbus_tcp": 200, "dlt645": 100, "mqtt": 247}  # mqtt: one broker connection for all
BASE_PORT = {"modbus_tcp": 21000, "dlt645": 22000, "mqtt": 0}
PREFIX = {"modbus_tcp": "91", "dlt645": "92", "mqtt": "93"}


def serials(n: int, proto: str) -> list[str]:
    return [f"{PREFIX[proto]}{i:010d}" for i in range(n)]


def build_fleet(n: int, proto: str) -> object:
    from prepay.simulator.clock import SimClock
    from prepay.simulator.fleet import Fleet
    from prepay.simulator.meter import VirtualMeter

    clock = SimClock(speed=60)
    fleet = Fleet(per_port=PER_PORT[proto], base_port=BASE_PORT[proto])
    params = []
    for i, serial in enumerate(serials(n, proto)):
        vm = VirtualMeter(serial=serial, clock=clock, seed=i, local_control=False, profile="residential")
        params.append(fleet.add(vm, proto))
    return fleet, params


def serve(n: int, proto: str, ready: object, stop: object) -> None:
    fleet, _params = build_fleet(n, proto)

    async def main() -> None:
        await fleet.start()  # type: ignore[attr-defined]
        ready.set()  # type: ignore[attr-defined]
        while not stop.is_set():  # type: ignore[attr-defined]
            await asyncio.sleep(0.2)
        await fleet.stop()  # type: ignore[attr-defined]

    asyncio.run(main())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=256)
    args = ap.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from prepay.meters.models import Meter, MeterModel
    from prepay.telemetry.models import MeterCommand, MeterEvent, MeterLink, MeterReading
    from prepay.telemetry.poller import Poller
    from prepay.tenancy.models import PropertyGroup, Site

    if connection.vendor != "postgresql":
        sys.exit("bench/poll.py measures PostgreSQL: set DATABASE_URL=postgres://…/prepay_bench_poll")
    call_command("migrate", interactive=False, verbosity=0)
    group, _ = PropertyGroup.objects.get_or_create(code="bench", defaults={"name": "Bench"})
    site, _ = Site.objects.get_or_create(group=group, code="bench", defaults={"name": "Bench"})
    model, _ = MeterModel.objects.get_or_create(
        group=group, code="bench", defaults={"name": "Bench meter", "kind": "single_phase"}
    )
    bench_meters = Meter.objects.filter(group=group)
    MeterReading.objects.filter(meter__group=group).delete()
    MeterEvent.objects.filter(meter__group=group).delete()
    MeterCommand.objects.filter(meter__group=group).delete()
    MeterLink.objects.filter(meter__group=group).delete()
    bench_meters.delete()

    print(f"poll benchmark: {args.n} meters per protocol, PostgreSQL {connection.pg_version}")
    ctx = mp.get_context("spawn")
    rows_for_copy: list[MeterReading] = []
    for proto in PROTOCOLS:
        _fleet, params = build_fleet(args.n, proto)
        meters = Meter.objects.bulk_create(
            [
                Meter(
                    group=group,
                    site=site,
                    serial=s,
                    model=model,
                    status="installed",
                    protocol=proto,
                    comm_params=p,
                )
                for s, p in zip(serials(args.n, proto), params, strict=True)
            ],
            batch_size=1000,
        )
        now = timezone.now()
        MeterLink.objects.bulk_create(
            [MeterLink(meter=m, poll_interval=900, next_poll_at=now) for m in meters], batch_size=1000
        )
        ready, stop = ctx.Event(), ctx.Event()
        child = ctx.Process(target=serve, args=(args.n, proto, ready, stop), daemon=True)
        child.start()
        if not ready.wait(120):
            sys.exit(f"{proto} simulator did not start")
        try:
            with Poller(batch=args.n, concurrency=args.concurrency, timeout=5, retries=1) as poller:
                t0 = time.perf_counter()
                s = poller.cycle()
                elapsed = time.perf_counter() - t0
        finally:
            stop.set()
            child.join(10)
        print(
            f"  {proto:<10} full pass: {s.ok}/{s.claimed} meters in {elapsed:.2f} s = {s.ok / elapsed:,.0f} meters/s"
            f"  (network {s.talk_seconds:.2f} s, writes {s.write_seconds:.2f} s; failed {s.failed} {s.errors or ''})"
        )
        rows_for_copy = [
            MeterReading(
                meter_id=m.pk,
                read_at=now + timedelta(days=1),
                register=Decimal("123.45"),
                energy=Decimal("123.45"),
                source="poll",
            )
            for m in meters
        ]

    # bulk insert as the poller does, beside raw COPY of the same number of rows into the same table
    n = len(rows_for_copy)
    t0 = time.perf_counter()
    MeterReading.objects.bulk_create(rows_for_copy, ignore_conflicts=True, batch_size=1000)
    orm = n / (time.perf_counter() - t0)
    ids = [r.meter_id for r in rows_for_copy]
    at = timezone.now() + timedelta(days=2)
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        raw = cur.connection
        with raw.cursor().copy(
            "COPY telemetry_meterreading (meter_id, read_at, register, energy, source) FROM STDIN"
        ) as copy:
            for mid in ids:
                copy.write_row((mid, at, 123450, 123450, "poll"))
    copy_rate = n / (time.perf_counter() - t0)
    print(f"  readings insert: bulk_create {orm:,.0f} rows/s   baseline raw COPY {copy_rate:,.0f} rows/s")


if __name__ == "__main__":
    main()
