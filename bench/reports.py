"""Reports at 10 k, 100 k and 1 M sales: how long each report page and the dashboard take, beside the
lightest authenticated GET of the same run, and how many queries each costs (issue 17).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/prepay_bench python bench/reports.py
    python bench/reports.py --sizes 10000,100000        # SQLite in a temporary directory

The database named by DATABASE_URL is DROPPED and re-created (its name must contain "bench").
Sales are written in bulk (``bulk_create``, 5,000 rows a statement) and spread evenly over the 365
days before now, with what each sale leaves in the ledger (a payment and a vend entry, two journal
lines); one sale in 200 is voided (the reversal, its entries and its refund's journal lines). The sizes
grow the same database: 10 k, then 90 k more, then 900 k more. On PostgreSQL the sales, ledger and
journal tables are then put in time order (``CLUSTER`` on their time index), as rows that arrive one
sale after another are, and analysed.

Every page is read by a signed-in finance user through Django's test client in this process (no
HTTP server: the figure is the application's own time), warmed up once and timed ``--repeat`` times
(median). The baseline is the lightest authenticated GET there is: the reports index (session,
membership check, a short template). Printed per size: milliseconds, × the baseline, and queries.
The aims (issue 17): every page within 50 × the baseline; a fixed period (the same ten days at every
size) grows at most 3 × from the smallest size to the largest; queries per page do not grow with rows.
Last, a background Excel export of the fixed ten days at the largest size is run as a job (rows/s;
aim ≥ 20,000) beside openpyxl's write-only writer given as many rows of the same shape from memory.
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.vend import bench_environment  # noqa: E402  (the repository root is on the path now)

BATCH = 5000
ACCOUNTS = 400
VOID_EVERY = 200


class World:
    """Two sites of one group, their counters, accounts with meters, a cashier and a finance user."""

    def __init__(self) -> None:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from prepay.vending.models import PointKind, VendingPoint
        from tests import factories as f

        group = f.group("bench")
        self.sites = [f.site_world(group, code) for code in ("s1", "s2")]
        self.cashier = f.user("bench-cashier", memberships=[(group, None, "cashier")])
        self.finance = f.user("bench-finance", memberships=[(group, None, "finance")])
        self.points = [
            VendingPoint.objects.create(
                site=w.site, code=f"c{i}", name=f"Counter {i}", kind=PointKind.COUNTER
            )
            for i, w in enumerate(self.sites)
        ]
        self.accounts = []
        for i in range(ACCOUNTS):
            w = self.sites[i % 2]
            unit = w.units[i % len(w.units)]
            self.accounts.append((f.account(w, unit=unit, meter_=f.meter(w)), self.points[i % 2]))
        self.seq = {acc.pk: 0 for acc, _ in self.accounts}
        self.made = 0


def _backdated() -> None:
    """Let bulk rows carry their own times: in this process only, the models' ``created_at`` stop
    stamping "now" on insert (the bench spreads sales over a year)."""
    from prepay.vending.models import JournalLine, LedgerEntry, Reversal, Vend

    for model in (Vend, LedgerEntry, JournalLine, Reversal):
        for name in ("created_at", "requested_at"):
            try:
                model._meta.get_field(name).auto_now_add = False  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - the model has no such field
                continue


def grow(world: World, to: int, now: datetime) -> None:
    """Add sales until ``world.made`` is ``to``, a batch at a time, with a progress line."""
    rng = random.Random(to)
    while world.made < to:
        n = min(BATCH, to - world.made)
        _batch(world, n, rng, now)
        world.made += n
        print(f"\r  writing sales: {world.made:>9,} / {to:,}", end="", flush=True)
    print()


def _batch(world: World, n: int, rng: random.Random, now: datetime) -> None:
    from django.db import transaction

    from prepay.vending.models import JournalLine, LedgerEntry, Vend

    sales, entries, lines = [], [], []
    for i in range(n):
        number = world.made + i
        account, point = world.accounts[rng.randrange(len(world.accounts))]
        at = now - timedelta(seconds=rng.randrange(365 * 86400))
        amount = Decimal(rng.randrange(1000, 50000)) / 100
        sales.append(
            Vend(
                account=account,
                point=point,
                method="cash" if number % 3 else "card",
                amount=amount,
                credit_amount=amount,
                energy=(amount / Decimal("0.588")).quantize(Decimal("0.001")),
                receipt_no=f"{point.code.upper()}-{number:08d}",
                idempotency_key=f"bench-{number}",
                created_by=world.cashier,
                created_at=at,
            )
        )
        entries += _entries(world, account, at, amount)
    with transaction.atomic():
        Vend.objects.bulk_create(sales)
        LedgerEntry.objects.bulk_create(entries)
        for k, v in enumerate(sales):
            journal = uuid.uuid4()
            pay = entries[2 * k]
            for amount, book, acc in ((v.amount, "cash", None), (-v.amount, "customer", v.account)):
                lines.append(
                    JournalLine(
                        journal=journal,
                        book=book,
                        amount=amount,
                        site_id=v.account.site_id,
                        account=acc,
                        point=v.point,
                        method=v.method,
                        entry=pay,
                        created_at=v.created_at,
                    )
                )
        JournalLine.objects.bulk_create(lines)
        _voids(world, [v for v in sales if int(v.idempotency_key.split("-")[1]) % VOID_EVERY == 0])


def _entries(world: World, account: Any, at: datetime, amount: Decimal) -> list[Any]:
    from prepay.vending.models import LedgerEntry

    out = []
    for kind, value in (("payment", amount), ("vend", -amount)):
        world.seq[account.pk] += 1
        balance = amount if kind == "payment" else Decimal("0.00")
        out.append(
            LedgerEntry(
                account=account,
                seq=world.seq[account.pk],
                kind=kind,
                amount=value,
                balance_after=balance,
                created_at=at,
            )
        )
    return out


def _voids(world: World, sales: list[Any]) -> None:
    """Void ``sales`` an hour after each was made: the reversal, its two entries, the refund's lines."""
    from prepay.vending.models import JournalLine, LedgerEntry, Reversal

    reversals = [
        Reversal(
            kind="reversal",
            account=v.account,
            vend=v,
            amount=v.amount,
            method=v.method,
            reason="bench",
            token_entered=False,
            requested_by=world.cashier,
            requested_at=v.created_at,
            point=v.point,
            status="approved",
            decided_by=world.finance,
            decided_at=v.created_at + timedelta(hours=1),
        )
        for v in sales
    ]
    Reversal.objects.bulk_create(reversals)
    entries, lines = [], []
    for r in reversals:
        at = r.decided_at
        for kind, value, key in (("reversal", r.amount, None), ("refund", -r.amount, f"reversal:{r.pk}:pay")):
            world.seq[r.account_id] += 1
            entries.append(
                LedgerEntry(
                    account=r.account,
                    seq=world.seq[r.account_id],
                    kind=kind,
                    amount=value,
                    balance_after=Decimal("0.00") if key else r.amount,
                    idempotency_key=key,
                    created_at=at,
                )
            )
    LedgerEntry.objects.bulk_create(entries)
    for k, r in enumerate(reversals):
        journal, pay = uuid.uuid4(), entries[2 * k + 1]
        for amount, book, point, acc in (
            (-r.amount, "cash", r.point, None),
            (r.amount, "customer", None, r.account),
        ):
            lines.append(
                JournalLine(
                    journal=journal,
                    book=book,
                    amount=amount,
                    site_id=r.account.site_id,
                    account=acc,
                    point=point,
                    method=r.method,
                    entry=pay,
                    created_at=at,
                )
            )
    JournalLine.objects.bulk_create(lines)


#: the tables the bench writes, kept in time order as a real installation's are
TIMED_TABLES = ("vending_vend", "vending_ledgerentry", "vending_journalline")


def in_time_order() -> None:
    """PostgreSQL: put each written table in the order of its time index, as sales arriving one after
    another leave it (the bench writes a year of sales in random order), then ANALYZE."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in TIMED_TABLES:
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
                [table, "%(created_at)"],
            )
            (index,) = cursor.fetchone()
            cursor.execute(f'CLUSTER "{table}" USING "{index}"')
        cursor.execute("ANALYZE")


def pages(today: date) -> dict[str, str]:
    """The pages timed, by name: every report (its default period), a fixed ten days, a deep and a
    sorted page of the sales detail, and the dashboard with its data feed."""
    fixed = today - timedelta(days=40)
    start = fixed.replace(day=1 if fixed.day <= 10 else 11 if fixed.day <= 20 else 21)
    end = start + timedelta(days=9)
    fixed_q = f"date_from={start.isoformat()}&date_to={end.isoformat()}"
    return {
        "sales detail (this ten days)": "/reports/sales/",
        "sales detail (fixed ten days)": f"/reports/sales/?{fixed_q}",
        "sales detail, page 20 by amount": f"/reports/sales/?{fixed_q}&sort=-amount&page=20",
        "reversals": "/reports/reversals/",
        "allocation (this month)": "/reports/allocation/",
        "recovery (this month)": "/reports/recovery/",
        "arrears": "/reports/arrears/",
        "line loss": "/reports/line-loss/",
        "apportionment": "/reports/apportionment/",
        "reconciliation periods": "/reports/reconciliation/",
        "dashboard": "/reports/dashboard/",
        "dashboard data": "/reports/dashboard/data.json",
        "live feed": "/reports/dashboard/live.json",
    }


def timed(client: Any, url: str, repeat: int) -> tuple[float, int]:
    """Median milliseconds of ``repeat`` GETs (after one warm-up) and the statements one GET sends."""
    from django.db import connection

    seen: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get(url)
    if response.status_code != 200:
        sys.exit(f"{url}: status {response.status_code}")
    spent = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(url)
        spent.append((time.perf_counter() - start) * 1000)
    return statistics.median(spent), len(seen)


def measure(world: World, repeat: int) -> tuple[float, dict[str, tuple[float, int]]]:
    from django.test import Client

    from prepay.reports.queries import local_today

    client = Client()
    client.force_login(world.finance)
    baseline, _ = timed(client, "/reports/", repeat * 4)
    return baseline, {name: timed(client, url, repeat) for name, url in pages(local_today()).items()}


def report(results: dict[int, tuple[float, dict[str, tuple[float, int]]]]) -> None:
    sizes = sorted(results)
    names = list(results[sizes[0]][1])
    head = "".join(f"{n:>26,} sales" for n in sizes)
    print(f"\n{'page':<34}{head}")
    print(f"{'baseline: reports index':<34}" + "".join(f"{results[n][0]:>24.1f} ms    " for n in sizes))
    worst = 0.0
    for name in names:
        cells = []
        for n in sizes:
            base, found = results[n]
            ms, queries = found[name]
            worst = max(worst, ms / base)
            cells.append(f"{ms:>9.1f} ms {ms / base:6.1f}× {queries:>3} q")
        print(f"{name:<34}" + "".join(f"{c:>32}" for c in cells))
    first, last = sizes[0], sizes[-1]
    growth = (
        results[last][1]["sales detail (fixed ten days)"][0]
        / results[first][1]["sales detail (fixed ten days)"][0]
    )
    # a page without a reversal on it skips the query for the page's reversals: one query less
    steady = all(
        max(results[n][1][name][1] for n in sizes) - min(results[n][1][name][1] for n in sizes) <= 1
        for name in names
    )
    print(f"\nslowest page: {worst:.1f} × the baseline (aim ≤ 50)")
    print(f"fixed ten days, {first:,} → {last:,} sales: {growth:.2f} × (aim ≤ 3)")
    print(
        f"queries per page the same at every size (± the page's reversals query): {'yes' if steady else 'NO'}"
    )


def export_rate(world: World, today: date) -> tuple[int, float, float]:
    """A background Excel export of the whole fixed ten days (rows, rows/s) and the same-run baseline:
    openpyxl's write-only writer given as many rows of the same shape straight from memory."""
    from django.http import QueryDict
    from openpyxl import Workbook

    from prepay.reports import export_jobs

    query = QueryDict(pages(today)["sales detail (fixed ten days)"].split("?", 1)[1])
    job = export_jobs.ask(world.finance, "sales", query)
    start = time.perf_counter()
    done = export_jobs.run(export_jobs.claim(job.pk))
    rate = done.done / (time.perf_counter() - start)
    sample = (
        datetime(2026, 1, 1, 8),
        "Sale",
        "C0-00000001",
        "Site s1",
        "Counter 0",
        "bench-cashier",
        "A0000001",
        "Customer",
        "M000001",
        "Cash",
        Decimal("12.34"),
        Decimal("0.00"),
        Decimal("12.34"),
        Decimal("20.986"),
        "Completed",
    )
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("baseline")
    start = time.perf_counter()
    for _ in range(done.done):
        ws.append(sample)
    wb.save(io.BytesIO())
    return done.done, rate, done.done / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,100000,1000000", help="sales at each measurement, ascending")
    p.add_argument("--repeat", type=int, default=5, help="timed GETs per page (median)")
    args = p.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    tmp = Path(tempfile.mkdtemp(prefix="prepay-bench-"))
    _url, backend = bench_environment(tmp)
    try:
        import django

        django.setup()
        from django.utils import timezone

        _backdated()
        world = World()
        now = timezone.now()
        results = {}
        for n in sizes:
            grow(world, n, now)
            if backend == "PostgreSQL":
                in_time_order()
            results[n] = measure(world, args.repeat)
            print(f"  measured at {n:,} sales")
        from prepay.reports.queries import local_today

        rows, rate, baseline = export_rate(world, local_today())
        print(f"backend: {backend}; {ACCOUNTS} accounts at 2 sites; one sale in {VOID_EVERY} voided")
        report(results)
        print(
            f"background Excel export of the fixed ten days: {rows:,} rows at {rate:,.0f} rows/s "
            f"(aim ≥ 20,000); baseline, openpyxl write-only from memory: {baseline:,.0f} rows/s"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
