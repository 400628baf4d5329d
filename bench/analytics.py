"""The daily suspicious-consumption analysis on PostgreSQL, beside a plain scan of the same readings.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/prepay_bench_analytics .venv/bin/python bench/analytics.py
    … --accounts 100000 --readings 96 --history 63      (the defaults: the issue's size)

The database of DATABASE_URL is the bench's own: its name must contain "bench"; it is dropped and
created again, then migrated. In bulk (``COPY``) it writes one site with ``--accounts`` households
(residential, five unit sizes, so peers compare) on networked meters, ``--history`` days of daily use
as earlier nightly runs would have left them, and ``--readings`` readings per meter on the analysed
day; plus what the analysis looks for, at realistic rates: 0.5 % diverting a share of their load for
nine days, 0.3 % empty flats, 0.1 % meters running backwards, 0.1 % with tamper events, 1 % offline,
5 % with tokens sold (a fifth of them never entered), and 1,000 master meters over 20 households each
(line loss). Then, in the same run:

* **baseline**: the ``COPY`` of the day's readings, and a plain ``SELECT count(*), sum(energy)`` over
  the same readings (a scan of the day with the same index);
* **ours**: :func:`prepay.analytics.run.analyse_site` for the day, timed per phase (daily use from the
  readings, features and facts, scoring and writing).

Afterwards (untimed) it checks that every planted thief of each kind was flagged and that at most
0.1 % of the ordinary households were, and exits non-zero otherwise.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import random
import sys
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prepay.settings")

TZ = ZoneInfo(os.environ.get("PREPAY_TIME_ZONE", "Asia/Shanghai"))
DAY = date(2026, 6, 11)
SHAPE = [
    0.45,
    0.35,
    0.3,
    0.3,
    0.3,
    0.4,
    0.8,
    1.2,
    1.0,
    0.7,
    0.6,
    0.7,
    0.9,
    0.8,
    0.7,
    0.7,
    0.9,
    1.3,
    1.9,
    2.2,
    2.1,
    1.8,
    1.3,
    0.8,
]
KINDS = {"divert": 0.005, "vacant": 0.003, "reversed": 0.001, "tamper": 0.001}
SUBS_PER_MASTER = 20
MASTERS = 1000


def fresh_database() -> None:
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench/analytics.py needs PostgreSQL: set DATABASE_URL=postgres://…/prepay_bench_analytics")
    base, name = url.rsplit("/", 1)
    if "bench" not in name:
        sys.exit("bench/analytics.py drops its database: its name must contain 'bench'")
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def copy(table: str, columns: str, lines: object) -> float:
    """COPY text ``lines`` (an iterable of tab-separated rows) into ``table``; returns seconds."""
    from django.db import connection, transaction

    start = time.perf_counter()
    with (
        transaction.atomic(),
        connection.cursor() as cur,
        cur.connection.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as cp,
    ):
        buf = io.StringIO()
        for n, line in enumerate(lines, start=1):  # type: ignore[attr-defined]
            buf.write(line)
            if n % 20000 == 0:
                cp.write(buf.getvalue())
                buf = io.StringIO()
        cp.write(buf.getvalue())
    return time.perf_counter() - start


class Plan:
    """Who is what, and each household's usual daily use (Wh)."""

    def __init__(self, n: int, seed: int = 7) -> None:
        rnd = random.Random(seed)
        self.n = n
        self.mean = [int(rnd.lognormvariate(math.log(7000), 0.35)) for _ in range(n)]
        self.area = [rnd.choice([55, 75, 88, 110, 150]) for _ in range(n)]
        picks = rnd.sample(range(MASTERS * SUBS_PER_MASTER, n), int(n * sum(KINDS.values())) + 10)
        self.kind: dict[int, str] = {}
        for kind, share in KINDS.items():
            for _ in range(int(n * share)):
                self.kind[picks.pop()] = kind
        self.branch_thief = {m * SUBS_PER_MASTER + 7 for m in range(0, MASTERS, 10)}  # every tenth branch
        self.offline = set(rnd.sample([i for i in range(n) if i not in self.kind], n // 100))
        self.tokens = rnd.sample(
            [i for i in range(n) if i not in self.kind and i not in self.offline], n // 20
        )
        self.not_entered = set(self.tokens[: len(self.tokens) // 5])
        self.bought = set(self.tokens) - self.not_entered
        self.rnd = rnd

    def daily(self, i: int, days_before: int) -> int:
        """Use (Wh) of household ``i`` ``days_before`` the analysed day (0 = that day)."""
        weekday = (DAY - timedelta(days=days_before)).weekday()
        use = (
            self.mean[i]
            * (1.15 if weekday >= 5 else 0.95)
            * (0.85 + 0.3 * ((i * 7919 + days_before * 104729) % 1000) / 1000)
        )
        kind = self.kind.get(i) or ("divert" if i in self.branch_thief else "")
        if days_before < 9 and kind == "divert":
            use *= 0.1
        if days_before < 8 and kind == "vacant":
            use = 0
        return int(use)


def setup(plan: Plan) -> tuple[object, list[int], list[int]]:
    """Master data in bulk; returns (site, household meter ids, master meter ids)."""
    from django.utils import timezone

    from prepay.billing.models import SubMeter
    from prepay.customers.models import Account, Building, Customer, CustomerType, Unit
    from prepay.meters.models import Installation, Meter, MeterModel
    from prepay.tariffs.models import Tariff
    from prepay.tenancy.models import PropertyGroup, Site

    g = PropertyGroup.objects.create(code="bench", name="bench")
    site = Site.objects.create(group=g, code="bench", name="bench")
    t = Tariff.objects.create(
        group=g, code="b", name="b", kind="flat", unit_price=Decimal("0.588"), effective_from=date(2026, 1, 1)
    )
    ct = CustomerType.objects.create(group=g, code="res", name="Residential", default_electricity_tariff=t)
    b = Building.objects.create(site=site, code="B", name="B")
    single = MeterModel.objects.create(group=g, code="m", name="m", kind="single_phase")
    three = MeterModel.objects.create(group=g, code="t", name="t", kind="three_phase")
    units = Unit.objects.bulk_create(
        [Unit(building=b, number=str(i), floor=i % 30, area=Decimal(plan.area[i])) for i in range(plan.n)],
        batch_size=5000,
    )
    custs = Customer.objects.bulk_create(
        [Customer(site=site, number=str(i), name=f"H{i}", customer_type=ct) for i in range(plan.n)],
        batch_size=5000,
    )
    meters = Meter.objects.bulk_create(
        [
            Meter(group=g, site=site, serial=f"B{i:08d}", model=single, status="installed")
            for i in range(plan.n)
        ],
        batch_size=5000,
    )
    masters = Meter.objects.bulk_create(
        [
            Meter(group=g, site=site, serial=f"M{i:06d}", model=three, status="installed")
            for i in range(MASTERS)
        ]
    )
    opened = datetime.combine(DAY - timedelta(days=400), dtime.min, tzinfo=TZ)
    accounts = Account.objects.bulk_create(
        [
            Account(site=site, number=f"BA{i:08d}", customer=c, unit=u, opened_at=opened)
            for i, (c, u) in enumerate(zip(custs, units, strict=True))
        ],
        batch_size=5000,
    )
    Installation.objects.bulk_create(
        [
            Installation(meter=m, account=a, unit=a.unit, started_at=opened, opening_reading=Decimal(0))
            for m, a in zip(meters, accounts, strict=True)
        ],
        batch_size=5000,
    )
    SubMeter.objects.bulk_create([SubMeter(meter=m) for m in masters])
    SubMeter.objects.bulk_create(
        [
            SubMeter(meter=meters[i], master=masters[i // SUBS_PER_MASTER])
            for i in range(MASTERS * SUBS_PER_MASTER)
        ],
        batch_size=5000,
    )
    _links_events_vends(plan, site, meters, accounts, timezone.now())
    return site, [m.pk for m in meters], [m.pk for m in masters]


def _links_events_vends(plan: Plan, site: object, meters: list, accounts: list, now: datetime) -> None:
    from prepay.telemetry.models import MeterEvent, MeterLink
    from prepay.vending.models import Vend, VendingPoint

    MeterLink.objects.bulk_create(
        [
            MeterLink(meter=m, next_poll_at=now, online=i not in plan.offline, relay_state="closed")
            for i, m in enumerate(meters)
        ],
        batch_size=5000,
    )
    events = []
    for i, kind in plan.kind.items():
        if kind == "tamper":
            for d in (5, 3, 1):
                at = datetime.combine(DAY - timedelta(days=d), dtime(10), tzinfo=TZ)
                events.append(MeterEvent(meter=meters[i], at=at, kind="tamper", detail={"what": "magnetic"}))
    MeterEvent.objects.bulk_create(events)
    point = VendingPoint.objects.create(site=site, code="b", name="b")
    vends = []
    for n, i in enumerate(plan.tokens):
        vends.append(
            Vend(
                account=accounts[i],
                meter=meters[i],
                point=point,
                amount=Decimal(50),
                credit_amount=Decimal(50),
                energy=Decimal(80),
                register_units=Decimal(80),
                receipt_no=f"B{n}",
                idempotency_key=f"bench-{n}",
            )
        )
    Vend.objects.bulk_create(vends, batch_size=5000)
    when = datetime.combine(DAY - timedelta(days=5), dtime(9), tzinfo=TZ)
    Vend.objects.filter(point=point).update(created_at=when)


def history_lines(
    plan: Plan, site_id: int, meter_ids: list[int], account_ids: list[int], masters: list[int], days: int
):
    """Daily-use rows of the ``days`` days before the analysed day (as earlier runs left them)."""
    cols = (
        "meter_id site_id account_id day readings open_readings exhausted_readings usage backwards backwards_steps "
        "reset_steps bypass bypass_steps credit_added last_at last_register last_energy last_balance"
    )
    registers = [0] * plan.n
    master_regs = [0] * MASTERS

    def gen():
        for back in range(days, 0, -1):
            day = DAY - timedelta(days=back)
            last_at = datetime.combine(day, dtime(23, 45), tzinfo=TZ).isoformat()
            branch = [0] * MASTERS
            for i in range(plan.n):
                if i in plan.offline and back <= 10:
                    continue
                use = plan.daily(i, back)
                registers[i] += use
                if i < MASTERS * SUBS_PER_MASTER:
                    branch[i // SUBS_PER_MASTER] += (
                        plan.mean[i] * (1.15 if day.weekday() >= 5 else 0.95)
                        if i in plan.branch_thief and back < 9
                        else use
                    )
                credit = 8000 if back == 5 and i in plan.bought else 0
                yield (
                    f"{meter_ids[i]}\t{site_id}\t{account_ids[i]}\t{day}\t96\t0\t0\t{use}\t0\t0\t0\t0\t0\t{credit}\t"
                    f"{last_at}\t{registers[i]}\t{registers[i]}\t10000\n"
                )
            for m in range(MASTERS):
                master_regs[m] += int(branch[m])
                yield (
                    f"{masters[m]}\t{site_id}\t\\N\t{day}\t96\t0\t0\t{int(branch[m])}\t0\t0\t0\t0\t0\t0\t"
                    f"{last_at}\t{master_regs[m]}\t{master_regs[m]}\t\\N\n"
                )

    return cols.replace(" ", ", "), gen(), registers, master_regs


def reading_lines(
    plan: Plan,
    meter_ids: list[int],
    masters: list[int],
    registers: list[int],
    master_regs: list[int],
    per_day: int,
):
    """The analysed day's readings: ``per_day`` per meter, shaped by hour of day."""
    step = timedelta(days=1) / per_day
    start = datetime.combine(DAY, dtime.min, tzinfo=TZ)
    stamps = [(start + step * k).isoformat() for k in range(per_day)]
    weights = [SHAPE[(start + step * k).hour] for k in range(per_day)]
    total = sum(weights)

    def gen():
        branch = [[0] * per_day for _ in range(MASTERS)]
        for i in range(plan.n):
            if i in plan.offline:
                continue
            use = plan.daily(i, 0)
            reg, sign = registers[i], -1 if plan.kind.get(i) == "reversed" else 1
            for k in range(per_day):
                part = int(use * weights[k] / total)
                reg += sign * part
                if i < MASTERS * SUBS_PER_MASTER:
                    true = int(plan.mean[i] * 0.95 * weights[k] / total) if i in plan.branch_thief else part
                    branch[i // SUBS_PER_MASTER][k] += true
                yield f"{meter_ids[i]}\t{stamps[k]}\t{reg}\t{reg}\t10000\tpoll\n"
        for m in range(MASTERS):
            reg = master_regs[m]
            for k in range(per_day):
                reg += branch[m][k]
                yield f"{masters[m]}\t{stamps[k]}\t{reg}\t{reg}\t\\N\tpoll\n"

    return gen()


def offline_lines(plan: Plan, meter_ids: list[int], registers: list[int]):
    """The last reading of each offline meter, eleven days before the analysed day."""
    at = datetime.combine(DAY - timedelta(days=11), dtime(23, 45), tzinfo=TZ).isoformat()
    for i in sorted(plan.offline):
        yield f"{meter_ids[i]}\t{at}\t{registers[i]}\t{registers[i]}\t10000\tpoll\n"


def check(plan: Plan, site: object, account_ids: list[int]) -> None:
    """Untimed: each planted kind found, few ordinary households flagged."""
    from prepay.analytics.models import Case

    flagged = set(Case.objects.filter(site=site).values_list("account_id", flat=True))
    planted = {
        **{k: [i for i, kind in plan.kind.items() if kind == k] for k in KINDS},
        "branch": sorted(plan.branch_thief),
        "offline": sorted(plan.offline),
        "tokens not entered": sorted(plan.not_entered),
    }
    ok = True
    for kind, ids in planted.items():
        found = sum(1 for i in ids if account_ids[i] in flagged)
        ok &= found == len(ids)
        print(f"check: {kind:<20} {found:>6} of {len(ids):>6} flagged")
    odd = set(plan.kind) | plan.branch_thief | plan.offline | plan.not_entered
    ordinary = [account_ids[i] for i in range(plan.n) if i not in odd]
    false = sum(1 for a in ordinary if a in flagged)
    print(f"check: ordinary households flagged: {false} of {len(ordinary)} ({false / len(ordinary):.3%})")
    if not ok or false > len(ordinary) / 1000:
        sys.exit("bench/analytics.py: the checks failed")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--accounts", type=int, default=100_000)
    p.add_argument("--readings", type=int, default=96, help="readings per meter on the analysed day")
    p.add_argument("--history", type=int, default=63, help="days of daily use before it")
    args = p.parse_args()
    if args.accounts < MASTERS * SUBS_PER_MASTER + 1000:
        sys.exit(f"--accounts must be at least {MASTERS * SUBS_PER_MASTER + 1000}")
    fresh_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from prepay.analytics.daily import day_bounds
    from prepay.analytics.run import analyse_site

    call_command("migrate", verbosity=0)
    plan = Plan(args.accounts)
    t0 = time.perf_counter()
    site, meter_ids, masters = setup(plan)
    from prepay.meters.models import Installation

    account_of = dict(
        Installation.objects.filter(meter_id__in=meter_ids).values_list("meter_id", "account_id")
    )
    account_ids = [account_of[m] for m in meter_ids]
    cols, lines, registers, master_regs = history_lines(
        plan, site.pk, meter_ids, account_ids, masters, args.history
    )  # type: ignore[attr-defined]
    history = copy("analytics_dailyusage", cols, lines)
    reading_cols = "meter_id, read_at, register, energy, balance, source"
    copy("telemetry_meterreading", reading_cols, offline_lines(plan, meter_ids, registers))
    setup_s = time.perf_counter() - t0
    n = (plan.n - len(plan.offline) + MASTERS) * args.readings
    ingest = copy(
        "telemetry_meterreading",
        reading_cols,
        reading_lines(plan, meter_ids, masters, registers, master_regs, args.readings),
    )
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
        start, end = day_bounds(DAY)
        t = time.perf_counter()
        cur.execute(
            "SELECT count(*), sum(energy) FROM telemetry_meterreading WHERE read_at >= %s AND read_at < %s",
            [start, end],
        )
        counted, _sum = cur.fetchone()
        scan = time.perf_counter() - t
    phases: dict[str, float] = {}
    last = [time.perf_counter()]

    def step(label: str) -> None:
        now = time.perf_counter()
        phases[label] = now - last[0]
        last[0] = now

    t = time.perf_counter()
    outcome = analyse_site(site, DAY, step=step)  # type: ignore[arg-type]
    ours = time.perf_counter() - t
    print(
        f"analysis bench on PostgreSQL {connection.pg_version}: {plan.n:,} households + {MASTERS:,} master meters"
    )
    print(
        f"{args.readings} readings per meter on {DAY} ({n:,} readings, {counted:,} counted), {args.history} days of daily use before it"
    )
    print(
        f"setup (master data, links, vends, {plan.n * args.history:,} daily-use rows in {history:.1f} s): {setup_s:.1f} s"
    )
    print(f"{'what':<52}{'seconds':>10}{'readings/s':>14}")
    print(f"{'baseline: COPY the day readings':<52}{ingest:>10.2f}{n / ingest:>14,.0f}")
    print(f"{'baseline: SELECT count(*), sum(energy) over them':<52}{scan:>10.2f}{n / scan:>14,.0f}")
    print(f"{'ours: analyse_site (the whole daily run)':<52}{ours:>10.2f}{n / ours:>14,.0f}")
    names = {
        "facts": "  daily use from the readings (SQL)",
        "score": "  features and facts",
        "done": "  scoring and writing",
    }
    for key, label in names.items():
        print(f"{label:<52}{phases.get(key, 0):>10.2f}")
    print(f"ratio ours / COPY: {ours / ingest:.2f}; ours / scan: {ours / scan:.1f}")
    print(
        f"result: {outcome.meters:,} meters summarised, {outcome.scored:,} accounts scored, {outcome.flagged:,} flagged"
    )
    check(plan, site, account_ids)


if __name__ == "__main__":
    main()
