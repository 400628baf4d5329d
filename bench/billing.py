"""Billing throughput on PostgreSQL: ingest and bill interval readings, beside raw COPY.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/prepay_bench .venv/bin/python bench/billing.py
    … --meters 1000 --readings 1000 --tariff tiered      (defaults: one million readings)

The database named in DATABASE_URL is created if missing, migrated, and the bench's own rows are
deleted afterwards (it refuses to run on SQLite). In the same run it measures:

* **baseline**: ``COPY`` of the same rows into ``bench_copy``, a table created ``LIKE
  telemetry_meterreading INCLUDING ALL`` plus its foreign key (same columns, defaults, unique
  constraint, indexes and the meter_id check);
* **ours**: the same ``COPY`` into ``telemetry_meterreading`` (ingest) followed by
  :func:`prepay.billing.jobs.charge_due` — every remote-control account charged through the real
  path (domain metering: multiplier, rollover, backwards; domain tariff; ledger + journal posting,
  warning rule) — and reports readings/s over both steps together.

After the timed run (untimed) it checks Σ charged energy against the registers, that a re-run
charges nothing, and that ``prepay db check`` (:func:`prepay.dbcare.services.check`) is clean.

The aim in the issue is at least half the COPY rate.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prepay.settings")

T0 = datetime(2026, 3, 2, tzinfo=UTC)
STEP = timedelta(minutes=15)
TARIFFS = {
    "flat": ("flat", Decimal("0.5880"), {}),
    "tiered": (
        "tiered",
        Decimal("0"),
        {"cycle": "month", "blocks": [{"upto": "200", "price": "0.5880"}, {"upto": None, "price": "0.6380"}]},
    ),
    "tou": (
        "tou",
        Decimal("0.6500"),
        {
            "prices": {"peak": "0.9800", "flat": "0.6500", "valley": "0.3200"},
            "schedule": [
                ["00:00", "08:00", "valley"],
                ["08:00", "12:00", "peak"],
                ["12:00", "24:00", "flat"],
            ],
        },
    ),
}


def ensure_database() -> None:
    """Create the database of DATABASE_URL when it does not exist."""
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench/billing.py needs PostgreSQL: set DATABASE_URL=postgres://…/prepay_bench")
    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def rows(meter_ids: list[int], readings: int, seed: int = 7) -> Iterator[tuple[object, ...]]:
    """(meter_id, read_at, register Wh, energy Wh, source): 15-minute readings, 0–0.6 kWh apart."""
    rnd = random.Random(seed)
    for mid in meter_ids:
        reg = 0
        for k in range(1, readings + 1):
            reg += rnd.randrange(0, 600)
            yield (mid, T0 + k * STEP, reg, reg, "import")


def copy_into(table: str, meter_ids: list[int], readings: int) -> float:
    """COPY the rows into ``table`` in one transaction; returns seconds."""
    from django.db import connection, transaction

    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        sql = f"COPY {table} (meter_id, read_at, register, energy, source) FROM STDIN"  # noqa: S608
        with cur.connection.cursor().copy(sql) as cp:
            for row in rows(meter_ids, readings):
                cp.write_row(row)
    return time.perf_counter() - start


def setup(
    n: int,
    tariff_kind: str,
    *,
    start: datetime = T0,
    meters: list[dict[str, object]] | None = None,
    credit: Callable[[int], Decimal] = lambda i: Decimal("100000.00"),
) -> tuple[list[int], object]:
    """A group with ``n`` remote-control accounts, each with a meter installed at ``start`` (opening
    register 0; ``meters[i]``: more fields of meter i, e.g. its protocol and comm_params) and
    ``credit(i)`` paid in. Returns the meter ids and the group."""
    from django.utils import timezone

    from prepay.customers.models import Account, Building, Customer, CustomerType, Unit
    from prepay.meters.models import Installation, Meter, MeterModel
    from prepay.tariffs.models import Tariff
    from prepay.tenancy.models import PropertyGroup, Site

    kind, price, definition = TARIFFS[tariff_kind]
    g = PropertyGroup.objects.create(code=f"bench{int(time.time())}", name="bench")
    site = Site.objects.create(group=g, code="bench", name="bench")
    t = Tariff.objects.create(
        group=g,
        code="b",
        name="b",
        kind=kind,
        unit_price=price,
        definition=definition,
        effective_from=date(2026, 1, 1),
    )
    ct = CustomerType.objects.create(group=g, code="res", name="res", default_electricity_tariff=t)
    b = Building.objects.create(site=site, code="B", name="B")
    model = MeterModel.objects.create(group=g, code="m", name="m", kind="single_phase")
    units = Unit.objects.bulk_create([Unit(building=b, number=str(i)) for i in range(n)])
    custs = Customer.objects.bulk_create(
        [
            Customer(site=site, number=str(i), name=str(i), customer_type=ct, email=f"c{i}@example.cn")
            for i in range(n)
        ]
    )
    extra = meters or [{} for _ in range(n)]
    made = Meter.objects.bulk_create(
        [
            Meter(
                **{
                    "group": g,
                    "site": site,
                    "serial": f"B{i:08d}",
                    "model": model,
                    "status": "installed",
                    **extra[i],
                }
            )
            for i in range(n)
        ],
        batch_size=1000,
    )
    now = timezone.now()
    accounts = Account.objects.bulk_create(
        [
            Account(site=site, number=f"BENCH-{g.pk}-{i}", customer=c, unit=u, mode="remote", opened_at=now)
            for i, (c, u) in enumerate(zip(custs, units, strict=True))
        ]
    )
    Installation.objects.bulk_create(
        [
            Installation(meter=m, account=a, unit=a.unit, started_at=start, opening_reading=Decimal("0"))
            for m, a in zip(made, accounts, strict=True)
        ]
    )
    from django.db import transaction

    from prepay.audit.actions import record_event
    from prepay.vending import ledger
    from prepay.vending.models import EntryKind

    with transaction.atomic():  # steady state: every account has credit (no warnings in the timed run)
        for i, a in enumerate(accounts):
            ledger.post(a, EntryKind.PAYMENT, credit(i), actor=None, idempotency_key=f"bench:{a.number}")
        # the credit's audit event, in the same transaction (db check: no money moves unaudited)
        record_event(actor=None, verb="payment.sell", object_type="bench", object_repr=f"{n} bench accounts",
                     group_id=g.pk, site_id=site.pk, after={"accounts": n})  # fmt: skip
    return [m.pk for m in made], g


def cleanup(group: object, meter_ids: list[int]) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_copy")
        gid = group.pk  # type: ignore[attr-defined]
        acc = "SELECT a.id FROM customers_account a JOIN tenancy_site s ON s.id = a.site_id WHERE s.group_id = %s"
        for sql in [
            f"DELETE FROM billing_supplystate WHERE account_id IN ({acc})",
            f"DELETE FROM notify_notification WHERE account_id IN ({acc})",
            f"DELETE FROM billing_charge WHERE account_id IN ({acc})",
            f"DELETE FROM vending_journalline WHERE entry_id IN (SELECT id FROM vending_ledgerentry WHERE account_id IN ({acc}))",
            f"DELETE FROM vending_ledgerentry WHERE account_id IN ({acc})",
        ]:
            cur.execute(sql, [gid])  # noqa: S608 - constant SQL, group id as a parameter
        cur.execute("DELETE FROM telemetry_meterreading WHERE meter_id = ANY(%s)", [meter_ids])


def verify(group: object, meter_ids: list[int], readings: int, entries: int, charges: int) -> None:
    """Untimed checks after the run: Σ charged energy equals what the registers say (the readings
    start at 0 and never fall), a re-run changes nothing, and ``prepay db check`` is clean."""
    from django.db import connection
    from django.db.models import Sum

    from prepay.billing import jobs
    from prepay.billing.models import Charge
    from prepay.dbcare.services import check
    from prepay.vending.models import LedgerEntry

    mine = Charge.objects.filter(account__site__group=group)
    charged = mine.aggregate(e=Sum("energy"))["e"] or Decimal(0)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT coalesce(sum(m), 0) FROM (SELECT max(register) AS m FROM telemetry_meterreading "
            "WHERE meter_id = ANY(%s) GROUP BY meter_id) x",
            [meter_ids],
        )
        read = Decimal(cur.fetchone()[0]).scaleb(-3)
    again = jobs.charge_due(until=T0 + (readings + 1) * STEP)
    after = (LedgerEntry.objects.filter(account__site__group=group).count(), mine.count())
    findings = check()
    print(f"check: charged {charged} kWh, registers say {read} kWh; re-run charged {again} accounts")
    print("check: prepay db check " + ("clean" if not findings else f"FOUND {len(findings)} problems"))
    for finding in findings[:10]:
        print(f"  {finding}")
    if charged != read or again or after != (entries, charges) or findings:
        sys.exit("bench/billing.py: the checks failed")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--meters", type=int, default=1000)
    p.add_argument("--readings", type=int, default=1000, help="readings per meter")
    p.add_argument("--tariff", choices=sorted(TARIFFS), default="tiered")
    p.add_argument("--keep", action="store_true", help="keep the bench rows (default: delete them)")
    args = p.parse_args()
    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from prepay.billing import jobs
    from prepay.billing.models import Charge
    from prepay.vending.models import LedgerEntry

    call_command("migrate", verbosity=0)
    n = args.meters * args.readings
    meter_ids, group = setup(args.meters, args.tariff)
    try:
        with connection.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS bench_copy")
            cur.execute("CREATE TABLE bench_copy (LIKE telemetry_meterreading INCLUDING ALL)")
            # LIKE copies no foreign keys; the real table checks meter_id against meters_meter
            cur.execute(
                "ALTER TABLE bench_copy ADD FOREIGN KEY (meter_id) REFERENCES meters_meter (id) "
                "DEFERRABLE INITIALLY DEFERRED"
            )
        baseline = copy_into("bench_copy", meter_ids, args.readings)
        ingest = copy_into("telemetry_meterreading", meter_ids, args.readings)
        start = time.perf_counter()
        charged = jobs.charge_due(until=T0 + (args.readings + 1) * STEP)
        bill = time.perf_counter() - start
        entries = LedgerEntry.objects.filter(account__site__group=group).count()
        charges = Charge.objects.filter(account__site__group=group).count()
        ours = ingest + bill
        print(
            f"billing bench on PostgreSQL {connection.pg_version}: {args.meters} meters × {args.readings} readings"
        )
        print(
            f"tariff {args.tariff}; {charged} accounts charged, {charges} charges, {entries} ledger entries"
        )
        print(f"{'what':<44}{'seconds':>10}{'rows/s':>14}")
        print(f"{'baseline: COPY into a same-shape table':<44}{baseline:>10.2f}{n / baseline:>14,.0f}")
        print(f"{'ingest: COPY into telemetry_meterreading':<44}{ingest:>10.2f}{n / ingest:>14,.0f}")
        print(f"{'billing: charge_due over every account':<44}{bill:>10.2f}{n / bill:>14,.0f}")
        print(f"{'ours: ingest + billing':<44}{ours:>10.2f}{n / ours:>14,.0f}")
        print(f"ratio ours / COPY baseline: {baseline / ours:.2f} (aim ≥ 0.50)")
        verify(group, meter_ids, args.readings, entries, charges)
    finally:
        if not args.keep:
            cleanup(group, meter_ids)


if __name__ == "__main__":
    main()
