"""Vend throughput: through the action, through the API in-process, and over HTTP against gunicorn,
beside a baseline measured in the same run on the same database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/prepay_bench python bench/vend.py [--n 200]
    python bench/vend.py            # SQLite in a temporary directory

The database named by DATABASE_URL is DROPPED and re-created (its name must contain "bench").
Every vend is an STS token sale (tariff, double-entry ledger, gap-free receipt, token with a new TID,
audit event). HTTP clients are threads with keep-alive connections, each an API client selling as its
own agent point (as payment channels do), against ``gunicorn prepay.wsgi`` with --workers processes.
Prints vends/s and p50/p99 latency, and the baseline: ``pgbench -b tpcb-like`` TPS with as many
clients on the same PostgreSQL (SQLite: single-row UPDATE + INSERT transactions/s on a WAL file).

The server runs with the settings a deployment gets: on PostgreSQL, statements a connection runs
again and again are prepared (``PREPAY_PG_PREPARE=0`` to measure without; the run prints which).
Beside it, the same server's ceiling for the lightest authenticated request there is — the agent's
float balance (API key, membership, point, newest float entry: four queries) — so the vend figure
can be read against what the stack itself allows on this machine (issue 17's aim: HTTP vends/s at
least 0.4 of that request's rate). Every worker is warmed up (URLs,
translations, connections) before anything is timed. The HTTP measurement runs in --rounds rounds,
each a vend phase followed by a GET phase, and reports the round with the median ratio: this shared
machine's speed drifts by tens of percent within a minute, and a ratio of two phases measured side by
side drifts far less than either rate.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VK = "ABABABABABABABAB"  # the IEC CTSA01 example vending key


def fresh_database(url: str) -> None:
    import psycopg

    name = urlparse(url).path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"refusing to drop database {name!r}: its name must contain 'bench'")
    admin = urlparse(url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def bench_environment(tmp: Path) -> tuple[str, str]:
    """Settings for a benchmark in this process: files under ``tmp``, and the database of DATABASE_URL
    dropped and created afresh (PostgreSQL) or a new SQLite file in ``tmp``. Returns (url, backend)."""
    url = os.environ.get("DATABASE_URL", "")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="prepay.settings",
        PREPAY_VAR_DIR=str(tmp),
        PREPAY_SECRET_KEY="bench-" + "x" * 40,
    )
    if url.startswith("postgres"):
        fresh_database(url)
        return url, "PostgreSQL"
    os.environ["DATABASE_URL"] = url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    return url, "SQLite"


def import_vending_key(group: Any, admin: Any) -> None:
    """The group's STS vending key (the IEC example key, supply group 123456)."""
    from prepay.tokens.actions import do_import_vending_keys

    do_import_vending_keys(
        group=group,
        actor=admin,
        rows=[{"dkga": "02", "supply_group_code": "123456", "key_revision": 1, "key_type": 2, "key": VK}],
    )


def sts_accounts(w: Any, n: int) -> list[Any]:
    """``n`` open accounts of site world ``w``, each with an STS meter of that key."""
    from tests import factories as f

    units = w.units * (n // len(w.units) + 1)
    return [
        f.account(
            w,
            unit=units[i],
            meter_=f.meter(w, drn="00000000000", supply_group_code="123456", tariff_index="01"),
        )
        for i in range(n)
    ]


def setup(n_accounts: int, n_clients: int) -> tuple[list[Any], list[str], list[Any], Any]:
    """Schema, a site with an STS tariff and meters, agent points with API clients and a float."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from prepay.api.actions import do_create_api_client
    from prepay.vending.actions import do_topup_float
    from prepay.vending.models import PointKind, VendingPoint
    from tests import factories as f

    w = f.site_world(f.group("bench"), "s1")
    admin = f.user("bench-admin", memberships=[(w.group, None, "admin")])
    finance = f.user("bench-finance", memberships=[(w.group, None, "finance")])
    import_vending_key(w.group, admin)
    accounts = sts_accounts(w, n_accounts)
    keys, points = [], []
    for i in range(n_clients + 1):
        point = VendingPoint.objects.create(
            site=w.site, code=f"ag{i}", name=f"Agent {i}", kind=PointKind.AGENT, uses_float=True
        )
        do_topup_float(point=point, amount="100000000", actor=finance, idempotency_key=f"seed-{i}")
        _c, key = do_create_api_client(
            group=w.group,
            site=w.site,
            point=point,
            name=f"ch{i}",
            scopes=["vend", "read"],
            roles=["cashier"],
            actor=admin,
        )
        keys.append(key)
        points.append(point)
    from django.contrib.auth import get_user_model

    return accounts, keys, points, get_user_model().objects.get(api_client__point=points[0])


def through_action(accounts: list[Any], point: Any, user: Any, n: int) -> float:
    from prepay.vending.actions import do_vend

    start = time.perf_counter()
    for i in range(n):
        do_vend(
            account=accounts[i % len(accounts)],
            actor=user,
            point=point,
            amount="10",
            idempotency_key=f"a-{i}",
        )
    return n / (time.perf_counter() - start)


def through_test_client(accounts: list[Any], key: str, n: int) -> float:
    from django.test import Client

    c = Client()
    start = time.perf_counter()
    for i in range(n):
        r = c.post(
            "/api/vends",
            json.dumps({"account_id": accounts[i % len(accounts)].pk, "amount": "10"}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": f"t-{i}"},
        )
        assert r.status_code == 201, r.content
    return n / (time.perf_counter() - start)


Request = tuple[str, str, "str | None", dict[str, str], int]  # method, path, body, headers, status


def over_http(
    port: int, clients: int, per_client: int, request: Any, warm_up: int = 0
) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) of ``clients`` keep-alive clients, each sending ``per_client``
    requests ``request(client, i)`` after ``warm_up`` untimed ones."""
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[str] = []
    barrier = threading.Barrier(clients + 1)

    def send(conn: http.client.HTTPConnection, req: Request) -> float:
        method, path, body, headers, status = req
        t0 = time.perf_counter()
        conn.request(method, path, body, headers)
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != status:
            errors.append(f"{resp.status} {data[:200]!r}")
        return time.perf_counter() - t0

    def run(c: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for i in range(warm_up):
            send(conn, request(c, -1 - i))
        mine: list[float] = []
        barrier.wait()
        for i in range(per_client):
            mine.append(send(conn, request(c, i)))
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        sys.exit(f"{len(errors)} failed requests, first: {errors[0]}")
    q = statistics.quantiles(latencies, n=100)
    return len(latencies) / elapsed, q[49] * 1000, q[98] * 1000


def vend_request(accounts: list[Any], keys: list[str], round_: int = 0) -> Any:
    def request(c: int, i: int) -> Request:
        body = json.dumps({"account_id": accounts[(c * 7 + i) % len(accounts)].pk, "amount": "10"})
        headers = {
            "Authorization": f"Bearer {keys[c]}",
            "Idempotency-Key": f"h-{round_}-{c}-{i}",
            "Content-Type": "application/json",
        }
        return "POST", "/api/vends", body, headers, 201

    return request


def float_request(points: list[Any], keys: list[str]) -> Any:
    def request(c: int, i: int) -> Request:
        return "GET", f"/api/points/{points[c].pk}/float", None, {"Authorization": f"Bearer {keys[c]}"}, 200

    return request


def start_gunicorn(port: int, workers: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "prepay.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--keep-alive", "30", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    for _ in range(100):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/api/openapi.json")
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("gunicorn did not start")


def pgbench_tps(url: str, clients: int, seconds: int) -> float:
    subprocess.run(["pgbench", "-i", "-s", "1", "-q", url], check=True, capture_output=True)
    out = subprocess.run(
        ["pgbench", "-b", "tpcb-like", "-c", str(clients), "-j", str(min(clients, 4)), "-T", str(seconds), url],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    subprocess.run(["pgbench", "-i", "-I", "d", url], check=True, capture_output=True)  # drop its tables
    m = re.search(r"tps = ([\d.]+)", out)
    return float(m.group(1)) if m else float("nan")


def sqlite_tps(path: Path, n: int) -> float:
    """Transactions/s of one single-row UPDATE + one INSERT each, on a WAL file like Prepay's."""
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        "CREATE TABLE acc(id INTEGER PRIMARY KEY, bal INTEGER); CREATE TABLE hist(acc INTEGER, delta INTEGER);"
        "INSERT INTO acc VALUES (1, 0);"
    )
    start = time.perf_counter()
    for i in range(n):
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE acc SET bal = bal + ? WHERE id = 1", (i,))
        db.execute("INSERT INTO hist VALUES (1, ?)", (i,))
        db.execute("COMMIT")
    return n / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200, help="vends per in-process measurement")
    p.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients (and pgbench clients)")
    p.add_argument("--per-client", type=int, default=50, help="vends per HTTP client")
    p.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    p.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="HTTP rounds (a vend phase, then a GET phase); the median is reported",
    )
    p.add_argument("--port", type=int, default=0, help="default: a free port")
    p.add_argument("--accounts", type=int, default=40)
    args = p.parse_args()

    if not args.port:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            args.port = s.getsockname()[1]
    tmp = Path(tempfile.mkdtemp(prefix="prepay-bench-"))
    url, backend = bench_environment(tmp)
    try:
        accounts, keys, points, user = setup(args.accounts, args.clients)
        from django.db import connections

        action = through_action(accounts, points[0], user, args.n)
        in_process = through_test_client(accounts, keys[0], args.n)
        connections.close_all()
        server = start_gunicorn(args.port, args.workers, dict(os.environ))
        warm = 2 * args.workers  # every worker has served (URLconf, translations, a connection)
        rounds = []  # (vends/s, p50, p99, GET/s, p50, p99) of each round: a vend phase, then a GET phase
        try:
            for r in range(args.rounds):
                vends = over_http(
                    args.port,
                    args.clients,
                    args.per_client,
                    vend_request(accounts, keys[1:], r),
                    warm_up=warm if r == 0 else 0,
                )
                gets = over_http(
                    args.port,
                    args.clients,
                    args.per_client * 4,
                    float_request(points[1:], keys[1:]),
                    warm_up=warm if r == 0 else 0,
                )
                rounds.append((*vends, *gets))
        finally:
            server.terminate()
            server.wait(10)
        # the round with the median ratio: the machine's speed drifts between phases, so each ratio
        # compares a vend phase with the GET phase right after it
        rounds.sort(key=lambda x: x[0] / x[3])
        rate, p50, p99, ceiling, c50, c99 = rounds[len(rounds) // 2]
        from prepay.dbcare import services

        problems = services.check()
        from django.conf import settings

        prepare = settings.DATABASES["default"].get("OPTIONS", {}).get("prepare_threshold")
        statements = f"prepared after {prepare} runs" if prepare else "not prepared"
        print(f"backend: {backend}; {args.accounts} STS accounts; every vend issues a token")
        if backend == "PostgreSQL":
            print(f"statements: {statements} (PREPAY_PG_PREPARE, prepay/common/pgconfig.py)")
        print(f"action (one thread):                   {action:8.1f} vends/s")
        print(f"API, Django test client (one thread):  {in_process:8.1f} vends/s")
        print(
            f"HTTP, gunicorn -w {args.workers}, {args.clients} clients:   {rate:8.1f} vends/s"
            f"   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms"
        )
        print(
            f"same server, float balance GET:      {ceiling:8.1f} req/s"
            f"     p50 {c50:6.1f} ms   p99 {c99:6.1f} ms   (the stack's ceiling here)"
        )
        if backend == "PostgreSQL":
            tps = pgbench_tps(url, args.clients, 10)
            name = f"pgbench -b tpcb-like, {args.clients} clients"
        else:
            tps = sqlite_tps(tmp / "baseline.sqlite3", args.n * 5)
            name = "SQLite UPDATE+INSERT txn"
        print(f"baseline {name}: {tps:8.1f} TPS")
        each = ", ".join(f"{x[0] / x[3]:.2f}" for x in rounds)
        print(f"  HTTP vends/s ÷ float GET/s = {rate / ceiling:.2f}   (issue 17 aims at 0.4 or more)")
        print(f"  each round's ratio, lowest first: {each} (the median round is reported above)")
        print(f"  vends/s ÷ TPS = {rate / tps:.3f};  float GET/s ÷ TPS = {ceiling / tps:.3f}")
        print(f"db check after the run: {problems or 'clean'}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
