"""Soak test: web, pollers and billing workers side by side under load, two of them killed mid-run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/prepay_bench_soak .venv/bin/python bench/soak.py
    … --meters 20000 --period 120 --seconds 360 --kill-at 60 --clients 4

The database named by DATABASE_URL is DROPPED and re-created (its name must contain "bench"); the
MQTT broker of PREPAY_MQTT_URL (default 127.0.0.1:1883) must run. What runs, each a real process:

* virtual meters — a third each Modbus TCP (200 behind a gateway port), DL/T 645 (100 on a serial
  bus behind a TCP server) and MQTT (through the broker) — in three child processes;
* ``prepay serve --workers 2`` (gunicorn), two ``prepay pollmeters``, two ``prepay runbilling``;
* HTTP clients vending STS tokens through the API (``POST /api/vends``) the whole time.

Every meter is on a remote-control account (one in twenty with little credit, so warnings are sent
by e-mail into a folder) and is due once per ``--period``, the first polls spread over the first
period. After ``--kill-at`` seconds one poller and one billing worker get SIGKILL and are started
again. At the end it prints: readings/s written beside a raw ``COPY`` of as many rows into the same
table in the same run, the share of polls within the period (+10 %) with the longest gaps, vends/s with p50/p99, and the
checks: ``prepay db check`` clean, no charge overlapping another of its meter, every meter charged
for exactly the energy its registers show (after a last billing pass), no notification sent
twice (one mail written per notification sent), every vend the clients were answered 201 for is in the
database and nothing else is.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import billing, poll, vend  # noqa: E402

PROTOCOLS = ("modbus_tcp", "dlt645", "mqtt")


ROLES = ("web", "pollers", "billing", "PostgreSQL", "broker", "simulators", "clients")
TICK = os.sysconf("SC_CLK_TCK")


def _role(pid: int) -> str | None:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None
    if pid == os.getpid():
        return "clients"
    if comm == "postgres" or comm.startswith("postgres"):
        return "PostgreSQL"
    if comm == "mosquitto":
        return "broker"
    if " serve " in cmd or "gunicorn" in cmd:
        return "web"
    if "pollmeters" in cmd:
        return "pollers"
    if "runbilling" in cmd:
        return "billing"
    if "multiprocessing" in cmd and str(ROOT) in Path(f"/proc/{pid}/cwd").resolve().as_posix():
        return "simulators"
    return None


def cpu_seconds() -> dict[int, tuple[str, float]]:
    """pid → (role, CPU seconds so far) of every process taking part, from /proc."""
    out: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        role = _role(pid)
        if role is None:
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (role, (int(fields[11]) + int(fields[12])) / TICK)  # utime + stime
    return out


class CpuMeter:
    """CPU seconds each role used between :meth:`start` and :meth:`stop`, including processes that
    were killed on the way (call :meth:`sample` just before killing)."""

    def __init__(self) -> None:
        self.first: dict[int, tuple[str, float]] = {}
        self.last: dict[int, tuple[str, float]] = {}

    def start(self) -> None:
        self.first = cpu_seconds()

    def sample(self) -> None:
        self.last.update(cpu_seconds())

    def used(self) -> dict[str, float]:
        used = dict.fromkeys(ROLES, 0.0)
        for pid, (role, seconds) in self.last.items():
            used[role] += seconds - self.first.get(pid, (role, 0.0))[1]
        return used


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def split(n: int) -> dict[str, int]:
    """Meters per protocol: a third each, the remainder to the first."""
    each = {p: n // len(PROTOCOLS) for p in PROTOCOLS}
    each[PROTOCOLS[0]] += n - sum(each.values())
    return each


def seed(n: int, period: int) -> tuple[list[int], Any]:
    """Remote-control accounts on meters of every protocol, due once per ``period`` (spread out)."""
    from django.utils import timezone

    from prepay.notify.models import Channel
    from prepay.telemetry.models import MeterLink

    meters: list[dict[str, object]] = []
    for proto, k in split(n).items():
        _fleet, params = poll.build_fleet(k, proto)
        meters += [
            {"serial": s, "protocol": proto, "comm_params": p}
            for s, p in zip(poll.serials(k, proto), params, strict=True)
        ]
    now = timezone.now()
    ids, group = billing.setup(
        n,
        "flat",
        start=now,
        meters=meters,
        credit=lambda i: Decimal("20.05") if i % 20 == 0 else Decimal("100000.00"),
    )
    Channel.objects.create(group=group, kind="email", name="mail")
    later = now + timedelta(days=1)  # made due by spread() when the pollers start
    MeterLink.objects.bulk_create(
        [MeterLink(meter_id=m, poll_interval=period, next_poll_at=later) for m in ids], batch_size=1000
    )
    return ids, group


def spread(ids: list[int], period: int) -> Any:
    """Make the meters due over the next ``period``, in an order mixing the protocols; returns now."""
    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    with connection.cursor() as c:
        c.execute(
            "UPDATE telemetry_meterlink l SET next_poll_at = %s + make_interval(secs => %s * o.k / %s) "
            "FROM (SELECT id, row_number() OVER (ORDER BY md5(meter_id::text)) - 1 AS k "
            "FROM telemetry_meterlink WHERE meter_id = ANY(%s)) o WHERE l.id = o.id",
            [now, period, len(ids), ids],
        )
    return now


class Processes:
    """The system's processes, started with the bench's environment and logged to files."""

    def __init__(self, tmp: Path, port: int) -> None:
        self.tmp, self.port = tmp, port
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.restarts: list[str] = []

    def command(self, name: str) -> list[str]:
        manage = [sys.executable, str(ROOT / "manage.py")]
        if name == "web":
            return [*manage, "serve", "--workers", "2", "--port", str(self.port)]
        if name.startswith("poller"):
            return [*manage, "pollmeters", "--name", f"soak-{name}", "--batch", "500", "--timeout", "3"]
        return [*manage, "runbilling", "--worker", f"soak-{name}", "--interval", "5"]

    def start(self, name: str) -> None:
        log = (self.tmp / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(self.command(name), cwd=ROOT, stdout=log, stderr=log)

    def kill_and_restart(self, name: str) -> None:
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        self.restarts.append(f"{name} (pid {proc.pid}, SIGKILL)")
        self.start(name)

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM if proc.args[2] == "serve" else signal.SIGINT)
        for name, proc in self.procs.items():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                print(f"  {name} did not stop in 30 s: killed")
                proc.kill()

    def wait_for_web(self) -> None:
        for _ in range(600):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/login/")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        sys.exit(f"prepay serve did not answer; see {self.tmp / 'web.log'}")


class Vending:
    """HTTP clients selling STS tokens until stopped; every answer is kept."""

    def __init__(self, port: int, request: Any, clients: int) -> None:
        self.port, self.request, self.clients = port, request, clients
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.ids: list[int] = []
        self.failures: list[str] = []
        self.threads = [threading.Thread(target=self._run, args=(c,), daemon=True) for c in range(clients)]

    def _run(self, c: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        i = 0
        while not self.stop.is_set():
            method, path, body, headers, status = self.request(c, i)
            i += 1
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body, headers)
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                with self.lock:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                continue
            took = time.perf_counter() - t0
            with self.lock:
                if resp.status == status:
                    self.latencies.append(took)
                    self.ids.append(int(json.loads(data)["id"]))
                else:
                    self.failures.append(f"{resp.status} {data[:200]!r}")

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(90)


def fleets(counts: dict[str, int]) -> tuple[list[Any], list[Any]]:
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    children = []
    for proto, k in counts.items():
        ready = ctx.Event()
        child = ctx.Process(target=poll.serve, args=(k, proto, ready, stop), daemon=True)
        child.start()
        if not ready.wait(300):
            sys.exit(f"the {proto} simulator did not start (is the MQTT broker running?)")
        children.append(child)
    return children, [stop]


def punctuality(
    ids: list[int], since: Any, until: Any, period: int
) -> dict[str, tuple[int, int, float, float]]:
    """By protocol: (gaps within the period + 10 %, gaps, p99 gap s, longest gap s). A gap is the time
    from one reading of a meter to its next, from the start to its first, and to the end from its last
    when that is already late; a meter never read counts once, with the whole run."""
    from django.db import connection

    grace = period * 1.1
    with connection.cursor() as c:
        c.execute(
            "WITH r AS (SELECT meter_id, read_at, lag(read_at) OVER (PARTITION BY meter_id ORDER BY read_at) AS prev "
            "  FROM telemetry_meterreading WHERE meter_id = ANY(%(ids)s) AND read_at >= %(since)s AND read_at < %(until)s), "
            "g AS (SELECT meter_id, extract(epoch FROM read_at - coalesce(prev, %(since)s)) AS s FROM r "
            "  UNION ALL SELECT meter_id, extract(epoch FROM %(until)s - max(read_at)) FROM r GROUP BY meter_id "
            "    HAVING extract(epoch FROM %(until)s - max(read_at)) > %(grace)s "
            "  UNION ALL SELECT m, extract(epoch FROM %(until)s - %(since)s) FROM unnest(%(ids)s) AS m "
            "    WHERE NOT EXISTS (SELECT 1 FROM r WHERE r.meter_id = m)) "
            "SELECT mm.protocol, count(*) FILTER (WHERE g.s <= %(grace)s), count(*), "
            "percentile_cont(0.99) WITHIN GROUP (ORDER BY g.s), max(g.s) "
            "FROM g JOIN meters_meter mm ON mm.id = g.meter_id GROUP BY 1",
            {"ids": ids, "since": since, "until": until, "grace": grace},
        )
        return {p: (int(ok), int(n), float(p99), float(top)) for p, ok, n, p99, top in c.fetchall()}


def copy_rate(ids: list[int], rows: int) -> float:
    """rows/s of a raw COPY of ``rows`` readings into the readings table (rolled back)."""
    from django.db import transaction

    per_meter = max(1, -(-rows // len(ids)))
    with transaction.atomic():
        seconds = billing.copy_into("telemetry_meterreading", ids, per_meter)
        transaction.set_rollback(True)
    return len(ids) * per_meter / seconds


def checks(group: Any, ids: list[int], sts_site: Any, vending: Vending, mail: Path) -> list[str]:
    """What must hold after the run; returns the failures (empty: all good)."""
    from django.db import connection
    from django.db.models import Max, Sum

    from prepay.billing import jobs
    from prepay.billing.models import Charge
    from prepay.dbcare import services
    from prepay.notify.models import Notification
    from prepay.telemetry.models import MeterReading
    from prepay.vending.models import Vend

    bad = [f"db check: {f}" for f in services.check()]
    with connection.cursor() as c:
        c.execute(
            "SELECT count(*) FROM (SELECT period_start, lag(period_end) OVER (PARTITION BY meter_id "
            "ORDER BY period_start) AS prev FROM billing_charge) x WHERE period_start < prev"
        )
        overlapping = c.fetchone()[0]
    if overlapping:
        bad.append(f"{overlapping} charges overlap an earlier one of their meter")
    # every reading charged once: a last pass for what came in the final seconds, then each meter's
    # charged energy equals its last register (the virtual meters start at 0 and only count up)
    jobs.charge_due()
    charged = dict(
        Charge.objects.filter(account__site__group=group).values_list("meter_id").annotate(e=Sum("energy"))
    )
    read = dict(
        MeterReading.objects.filter(meter_id__in=ids).values_list("meter_id").annotate(e=Max("energy"))
    )
    wrong = [m for m in read if charged.get(m) != read[m]]
    if wrong:
        bad.append(
            f"{len(wrong)} meters charged for other than their readings (meter {wrong[0]}: charged "
            f"{charged.get(wrong[0])}, registers {read[wrong[0]]})"
        )
    sent = Notification.objects.filter(site__group=group, status="sent").count()
    # Django's file backend appends messages sent in the same second to one file: count the messages
    mails = sum(f.read_text().count("\nMessage-ID: ") for f in mail.glob("*")) if mail.exists() else 0
    if mails != sent:
        bad.append(f"{mails} mails written for {sent} notifications sent")
    answered = set(vending.ids)
    stored = set(Vend.objects.filter(account__site=sts_site).values_list("pk", flat=True))
    if len(answered) != len(vending.ids):
        bad.append("one vend id was answered twice")
    if answered - stored:
        bad.append(f"{len(answered - stored)} vends answered 201 are not in the database")
    if stored - answered:
        bad.append(f"{len(stored - answered)} vends in the database were never answered")
    return bad


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--meters", type=int, default=20000)
    p.add_argument("--period", type=int, default=120, help="seconds between polls of a meter")
    p.add_argument("--seconds", type=int, default=360, help="length of the run")
    p.add_argument(
        "--kill-at", type=int, default=60, help="seconds in: SIGKILL a poller and a billing worker"
    )
    p.add_argument("--clients", type=int, default=4, help="HTTP clients vending")
    p.add_argument("--keep", action="store_true", help="keep the folder with the processes' logs")
    args = p.parse_args()
    if args.seconds < 2 * args.period:
        sys.exit("--seconds must cover at least two periods")

    tmp = Path(tempfile.mkdtemp(prefix="prepay-soak-"))
    os.environ["PREPAY_LANGUAGE"] = "en"
    mail = tmp / "mail"
    url, backend = vend.bench_environment(tmp)
    if backend != "PostgreSQL":
        sys.exit("bench/soak.py runs on PostgreSQL: set DATABASE_URL=postgres://…/prepay_bench_soak")
    os.environ["PREPAY_EMAIL_URL"] = f"file://{mail}"
    try:
        t = time.perf_counter()
        sts_accounts, keys, _points, _user = vend.setup(40, args.clients)
        ids, group = seed(args.meters, args.period)
        from django.db import connection, connections

        print(
            f"soak on PostgreSQL {connection.pg_version}: {args.meters:,} meters "
            f"({', '.join(f'{k:,} {p}' for p, k in split(args.meters).items())}), due every {args.period} s; "
            f"set up in {time.perf_counter() - t:.0f} s"
        )
        connections.close_all()
        children, stops = fleets(split(args.meters))
        procs = Processes(tmp, free_port())
        procs.start("web")
        procs.wait_for_web()
        since = spread(ids, args.period)
        connections.close_all()
        for name in ("poller1", "poller2", "billing1", "billing2"):
            procs.start(name)
        vending = Vending(procs.port, vend.vend_request(sts_accounts, keys[1:]), args.clients)
        cpu = CpuMeter()
        cpu.start()
        vending.start()
        t0 = time.perf_counter()
        time.sleep(args.kill_at)
        cpu.sample()  # the CPU of the two about to die
        procs.kill_and_restart("poller1")
        procs.kill_and_restart("billing1")
        time.sleep(max(0.0, args.seconds - (time.perf_counter() - t0)))
        cpu.sample()
        vending.finish()
        elapsed = time.perf_counter() - t0
        procs.stop()
        for s in stops:
            s.set()
        for child in children:
            child.join(20)
        until = since + timedelta(seconds=elapsed)

        from prepay.telemetry.models import MeterReading

        readings = MeterReading.objects.filter(
            meter_id__in=ids, read_at__gte=since, read_at__lt=until
        ).count()
        gaps = punctuality(ids, since, until, args.period)
        baseline = copy_rate(ids, max(readings, len(ids)))
        q = statistics.quantiles(vending.latencies, n=100) if len(vending.latencies) > 1 else [0.0] * 99
        print(f"run: {elapsed:.0f} s; killed and restarted: {', '.join(procs.restarts)}")
        print(
            f"readings written:  {readings / elapsed:10,.1f} /s   (offered {args.meters / args.period:,.1f} /s: "
            f"every meter once a period)   baseline raw COPY {baseline:,.0f} rows/s"
        )
        ok, total = sum(g[0] for g in gaps.values()), sum(g[1] for g in gaps.values())
        print(f"polls within the period (+10 %): {ok / total:.1%} of {total:,} intervals between readings")
        for proto in PROTOCOLS:
            k, n, p99, top = gaps.get(proto, (0, 0, 0.0, 0.0))
            print(f"  {proto:<11} {k / max(n, 1):6.1%}   p99 {p99:6.1f} s   longest {top:6.1f} s")
        print(
            f"vends over HTTP:   {len(vending.ids) / elapsed:10,.1f} /s   p50 {q[49] * 1000:.0f} ms   "
            f"p99 {q[98] * 1000:.0f} ms   ({len(vending.ids):,} vends, {len(vending.failures)} failed"
            + (f": {vending.failures[0]}" if vending.failures else "")
            + ")"
        )
        from prepay.billing.models import Charge
        from prepay.notify.models import Notification

        print(
            f"charges: {Charge.objects.filter(account__site__group=group).count():,}; notifications sent: "
            f"{Notification.objects.filter(site__group=group, status='sent').count():,}"
        )
        used = cpu.used()
        print(
            f"CPU over the run ({os.cpu_count()} cores): "
            + ", ".join(f"{r} {used[r] / elapsed:.0%}" for r in ROLES)
            + " of one core"
        )
        print(
            f"  per 1,000 readings: pollers {used['pollers'] / max(readings, 1) * 1000:.2f} s, billing "
            f"{used['billing'] / max(readings, 1) * 1000:.2f} s; per 1,000 vends: web "
            f"{used['web'] / max(len(vending.ids), 1) * 1000:.2f} s"
        )
        bad = checks(group, ids, sts_accounts[0].site, vending, mail)
        print(
            "after the run: "
            + (
                "; ".join(bad)
                if bad
                else "db check clean, every reading charged once, no notification twice, no vend lost"
            )
        )
        if bad or vending.failures:
            sys.exit(1)
    finally:
        if args.keep:
            print(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
