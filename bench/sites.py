"""Vends at different sites share no lock (issue 17): vends/s for 1, 2 and 4 worker processes, each
selling at a site of its own, beside the same workers all selling at one site, and pgbench.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/prepay_bench python bench/sites.py [--n 150]

PostgreSQL only (SQLite lets one writer in at a time, whatever the sites); the database named by
DATABASE_URL is DROPPED and re-created (its name must contain "bench"). Every vend is an STS token
sale through the action (``do_vend``: tariff, ledger, receipt, token, audit event), sold by an online
channel of the account's site. Each worker is a process of its own with its own connection; all
start together and the figure is every vend sold over the wall-clock time until the last worker
finished. "one site" runs the same workers on the accounts of one site (each with its own channel),
where they queue on that site's audit chain head; "own site" gives each its own site and chain.
The baseline is ``pgbench -b tpcb-like`` TPS with as many clients, in the same run.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.vend import bench_environment, import_vending_key, pgbench_tps, sts_accounts  # noqa: E402  (the repository root is on the path now)

SITES = 4


def setup(per_site: int) -> list[tuple[int, list[int], list[int]]]:
    """Schema, one group with ``SITES`` sites; each site: STS accounts and 4 online channels.
    Returns, per site: (seller id, account ids, point ids)."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from prepay.vending.models import PointKind, VendingPoint
    from tests import factories as f

    group = f.group("bench")
    admin = f.user("bench-admin", memberships=[(group, None, "admin")])
    seller = f.user("bench-seller", memberships=[(group, None, "cashier")])
    import_vending_key(group, admin)
    out = []
    for s in range(SITES):
        w = f.site_world(group, f"s{s}")
        accounts = sts_accounts(w, per_site)
        points = [
            VendingPoint.objects.create(
                site=w.site, code=f"web{s}-{i}", name=f"Web {i}", kind=PointKind.ONLINE
            )
            for i in range(SITES)
        ]
        out.append((seller.pk, [a.pk for a in accounts], [p.pk for p in points]))
    return out


def worker(tag: str, seller: int, accounts: list[int], point: int, n: int, barrier: Any, done: Any) -> None:
    """Sell ``n`` vends at ``point`` to ``accounts`` in turn (a process of its own)."""
    from django.contrib.auth import get_user_model
    from django.db import connections

    from prepay.customers.models import Account
    from prepay.vending.actions import do_vend
    from prepay.vending.models import VendingPoint

    connections.close_all()  # never share the parent's connection
    user = get_user_model().objects.get(pk=seller)
    sale_point = VendingPoint.objects.get(pk=point)
    rows = list(Account.objects.filter(pk__in=accounts))
    barrier.wait()
    for i in range(n):
        do_vend(
            account=rows[i % len(rows)],
            actor=user,
            point=sale_point,
            amount="10",
            idempotency_key=f"{tag}-{i}",
        )
    done.put(time.perf_counter())


def run(label: str, jobs: list[tuple[int, list[int], int]], n: int) -> float:
    """Vends/s of one process per job (seller, accounts, point), started together."""
    from django.db import connections

    connections.close_all()
    ctx = mp.get_context("fork")
    barrier, done = ctx.Barrier(len(jobs) + 1), ctx.Queue()
    procs = [
        ctx.Process(target=worker, args=(f"{label}-{k}", seller, accounts, point, n, barrier, done))
        for k, (seller, accounts, point) in enumerate(jobs)
    ]
    for p in procs:
        p.start()
    barrier.wait()
    start = time.perf_counter()
    ends = [done.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(60)
        if p.exitcode != 0:
            sys.exit(f"a worker failed ({label})")
    return len(jobs) * n / (max(ends) - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=150, help="vends per worker")
    p.add_argument("--accounts", type=int, default=20, help="accounts per site")
    args = p.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("bench/sites.py needs DATABASE_URL=postgres://…/<name with 'bench'> (SQLite has one writer)")
    tmp = Path(tempfile.mkdtemp(prefix="prepay-bench-"))
    url, backend = bench_environment(tmp)
    try:
        sites = setup(args.accounts)
        run("warm", [(sites[k][0], sites[k][1], sites[k][2][SITES - 1]) for k in range(SITES)], 10)  # untimed
        rows = []
        for workers in (1, 2, 4):
            own = [(sites[k][0], sites[k][1], sites[k][2][0]) for k in range(workers)]
            one = [(sites[0][0], sites[0][1][k::workers], sites[0][2][k]) for k in range(workers)]
            rows.append((workers, run(f"own{workers}", own, args.n), run(f"one{workers}", one, args.n)))
        from prepay.audit.chain import verify_log
        from prepay.dbcare import services

        problems = services.check()
        print(f"backend: {backend}; {os.cpu_count()} CPUs; {args.n} STS vends per worker, through the action")
        print("workers   own site each (vends/s)   all at one site (vends/s)   pgbench tpcb-like (TPS)")
        for workers, own_rate, one_rate in rows:
            tps = pgbench_tps(url, workers, 10)
            print(f"{workers:7d}   {own_rate:23.1f}   {one_rate:25.1f}   {tps:23.1f}")
        base = rows[0][1]
        print("scaling over 1 worker, own sites: " + ", ".join(f"{w}: {r / base:.2f} x" for w, r, _ in rows))
        print(f"audit chains verified: {verify_log().ok}; db check after the run: {problems or 'clean'}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
