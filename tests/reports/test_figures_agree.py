"""One figure, one value: for any period and scope, the money and energy totals of the sales detail, the
allocation, the recovery rate, the reversals report and the dashboard agree with each other and with the
ledger and journal.

Each seed builds two random working days with the real actions — the evening of 31 May and the morning
of 1 June 2026, so the days fall in different months and ten-day periods — at two sites: sales by money
and by energy at three counters (three cashiers) and an agent, with every payment method; reversals
approved while the shift is open (voids) and after it closed (refunds by finance, some of the day
before's sales); refunds of balances; adjustments of energy and money; fees. Then every report is read
through its page, for the whole group and for one site, and compared with sums taken straight from the
ledger (``LedgerEntry``) and the journal (``JournalLine``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Sum
from django.urls import reverse

from prepay.billing.actions import do_charge_fees
from prepay.billing.models import FeeSchedule
from prepay.common.errors import ActionError
from prepay.customers.choices import AccountMode
from prepay.domain.reporting import Period
from prepay.reports.sales import day_bounds
from prepay.vending.actions import (
    do_approve_reversal,
    do_close_shift,
    do_open_shift,
    do_request_refund,
    do_request_reversal,
    do_topup_float,
    do_vend,
    shift_summary,
)
from prepay.vending.adjustments import do_approve_adjustment, do_request_adjustment
from prepay.vending.models import JournalLine, LedgerEntry, Shift, ShiftStatus, Vend, VendingPoint, VendStatus
from tests import factories as f

TZ = ZoneInfo("Asia/Shanghai")
EVE = datetime(2026, 5, 31, 19, 0, tzinfo=TZ)
DAY = datetime(2026, 6, 1, 8, 0, tzinfo=TZ)
SEEDS = [7, 2026, 31]
METHODS = ["cash", "cash", "cash", "card", "transfer", "online"]
DUE = ("vend", "charge", "fee", "reversal", "credit_return")


@dataclass
class Counter:
    point: VendingPoint
    cashier: Any
    shift: Shift | None = None


@dataclass
class Day:
    shop: Any
    rng: random.Random
    counters: list[Counter]
    agent_seller: Any
    accounts: dict[int, list[Any]]  # site id -> STS (token) accounts
    remote: dict[int, list[Any]]  # site id -> remote fee control accounts
    vends: list[Vend] = field(default_factory=list)
    closed: list[Shift] = field(default_factory=list)
    n: int = 0

    def key(self) -> str:
        self.n += 1
        return f"day-{self.n}"


def _sts_account(w: Any, site_world: Any, unit: int, **kw: Any) -> Any:
    meter = f.meter(site_world, drn="00000000000", supply_group_code="123456", tariff_index="01")
    return f.account(site_world, unit=site_world.units[unit], meter_=meter, **kw)


def setting(shop: Any, clock: Any, seed: int) -> Day:
    w = shop.world
    clock.move_to(EVE)
    c2 = VendingPoint.objects.create(site=w.a1.site, code="c2", name="Counter 2")
    c3 = VendingPoint.objects.create(site=w.a2.site, code="c3", name="Counter A2")
    cashier2 = f.user("cashier2_a1", memberships=[(w.a1.group, w.a1.site, "cashier")])
    cashier3 = f.user("cashier_a2", memberships=[(w.a1.group, w.a2.site, "cashier")])
    agent_seller = f.user("agent_a", memberships=[(w.a1.group, None, "cashier")])  # sells group-wide
    do_close_shift(
        shift=shop.shift, actor=w.cashier, declared={"cash": "0"}
    )  # the fixture's shift: not today's
    accounts = {
        w.a1.site.pk: [shop.account, *(_sts_account(w, w.a1, i) for i in (1, 2))],
        w.a2.site.pk: [_sts_account(w, w.a2, i) for i in (0, 1, 2)],
    }
    remote = {
        w.a1.site.pk: [_sts_account(w, w.a1, 3, mode=AccountMode.REMOTE)],
        w.a2.site.pk: [_sts_account(w, w.a2, 3, mode=AccountMode.REMOTE)],
    }
    counters = [Counter(shop.point, w.cashier), Counter(c2, cashier2), Counter(c3, cashier3)]
    do_topup_float(point=shop.agent, amount="5000.00", actor=w.finance, idempotency_key="float-1")
    return Day(shop, random.Random(seed), counters, agent_seller, accounts, remote)


def tick(day: Day, clock: Any) -> None:
    clock.shift(timedelta(minutes=day.rng.randint(1, 6), seconds=day.rng.randint(0, 59)))


def open_shifts(day: Day) -> None:
    for c in day.counters:
        c.shift = do_open_shift(
            point=c.point, actor=c.cashier, opening_float=str(day.rng.choice([0, 100, 200]))
        )


def close_shift(day: Day, c: Counter) -> None:
    assert c.shift is not None
    expected = shift_summary(c.shift)["expected"]
    day.closed.append(do_close_shift(shift=c.shift, actor=c.cashier, declared=expected))
    c.shift = None


def sell(day: Day) -> None:
    rng = day.rng
    counter = rng.choice([c for c in day.counters if c.shift is not None] or [None])
    agent = counter is None or rng.random() < 0.2
    point = day.shop.agent if agent else counter.point
    seller = day.agent_seller if agent else counter.cashier
    sites = list(day.accounts) if agent else [point.site_id]  # an agent sells at every site of the group
    site = rng.choice(sites)
    remote = rng.random() < 0.25
    account = rng.choice(day.remote[site] if remote else day.accounts[site])
    method = "cash" if agent else rng.choice(METHODS)
    kw: dict[str, Any] = {"reference": f"REF-{day.n}"} if method in ("transfer", "online") else {}
    if not remote and rng.random() < 0.35:
        kw["energy"] = str(Decimal(rng.randint(1000, 200000)) / 1000)
    else:
        kw["amount"] = str(Decimal(rng.randint(500, 30000)) / 100)
    try:
        vend = do_vend(
            account=account, actor=seller, point=point, idempotency_key=day.key(), method=method, **kw
        )
    except ActionError as exc:  # e.g. a payment that would all go to arrears: refused, nothing sold
        assert exc.code in {"all_to_arrears", "too_small_for_any_energy"}, exc.code
        return
    day.vends.append(vend)


def reverse_one(day: Day, *, earlier: bool = False) -> None:
    w = day.shop.world
    candidates = [
        v
        for v in day.vends
        if Vend.objects.get(pk=v.pk).status == VendStatus.COMPLETED and (v.created_at < DAY) == earlier
    ]
    if not candidates:
        return
    vend = day.rng.choice(candidates)
    asker = vend.created_by if vend.shift_id else w.clerk
    if vend.account.site_id != w.a1.site.pk and asker == w.clerk:
        asker = f.user(memberships=[(w.a1.group, vend.account.site, "clerk")])
    r = do_request_reversal(vend=vend, actor=asker, reason="random", token_entered=day.rng.random() < 0.3)
    try:
        do_approve_reversal(reversal=r, actor=day.rng.choice([w.finance, w.admin]))
    except ActionError as exc:  # the remote balance no longer holds the money: refused, nothing moved
        assert exc.code == "balance_spent", exc.code


def refund_one(day: Day) -> None:
    from prepay.vending import ledger

    w = day.shop.world
    account = day.rng.choice([a for accs in day.remote.values() for a in accs])
    balance = ledger.balance_of(account)
    if balance <= Decimal("1.00"):
        return
    amount = (balance * Decimal(day.rng.randint(10, 90)) / 100).quantize(Decimal("0.01"))
    clerk = w.clerk if account.site_id == w.a1.site.pk else w.clerk_a2
    r = do_request_refund(account=account, amount=str(amount), actor=clerk, reason="moving out")
    do_approve_reversal(reversal=r, actor=w.finance)


def adjust_one(day: Day) -> None:
    w = day.shop.world
    site = day.rng.choice(list(day.accounts))
    clerk = w.clerk if site == w.a1.site.pk else w.clerk_a2
    if day.rng.random() < 0.5:
        adj = do_request_adjustment(
            account=day.rng.choice(day.accounts[site]), actor=clerk, reason="meter fault", energy="5.5"
        )
    else:
        amount = day.rng.choice(["12.30", "-3.00"])
        adj = do_request_adjustment(
            account=day.rng.choice(day.remote[site]), actor=clerk, reason="fix", amount=amount
        )
    try:
        do_approve_adjustment(adjustment=adj, actor=w.admin)
    except ActionError as exc:
        assert exc.code == "exceeds_balance", exc.code


def fee_one(day: Day, when: date) -> None:
    w = day.shop.world
    site_world = day.rng.choice([w.a1, w.a2])
    account = day.rng.choice(day.accounts[site_world.site.pk])
    FeeSchedule.objects.create(
        site=site_world.site,
        account=account,
        kind="service",
        name=f"Service {day.n}",
        amount=Decimal("8.80"),
        frequency="once",
        starts_on=when,
    )
    do_charge_fees(site=site_world.site, month=when.replace(day=1), actor=w.finance)


def build(shop: Any, clock: Any, seed: int) -> Day:
    """Two random days (see the module docstring); every shift closes with the expected money."""
    day = setting(shop, clock, seed)
    open_shifts(day)
    for _ in range(10):
        tick(day, clock)
        step = day.rng.random()
        if step < 0.7:
            sell(day)
        elif step < 0.85:
            reverse_one(day, earlier=True)  # approved in the open shift: a void
        else:
            adjust_one(day)
    fee_one(day, EVE.date())
    for c in day.counters:
        close_shift(day, c)
    clock.move_to(DAY)
    open_shifts(day)
    actions = ["sell"] * 14 + ["void"] * 3 + ["late"] * 3 + ["refund"] * 2 + ["adjust"] * 2 + ["close"]
    day.rng.shuffle(actions)
    for action in actions:
        tick(day, clock)
        if action == "sell":
            sell(day)
        elif action == "void":
            reverse_one(day)  # a sale of today: void if its shift is open, else refund by finance
        elif action == "late":
            reverse_one(day, earlier=True)  # yesterday's sale: refund by finance
        elif action == "refund":
            refund_one(day)
        elif action == "adjust":
            adjust_one(day)
        else:
            close_shift(day, day.rng.choice([c for c in day.counters if c.shift is not None]))
    fee_one(day, DAY.date())
    for c in day.counters:
        if c.shift is not None and day.rng.random() < 0.5:
            close_shift(day, c)
    tick(day, clock)
    for _ in range(2):
        reverse_one(day)  # after some shifts closed: refunds by finance
    return day


# ---------------------------------------------------------------- the ledger's own figures


@dataclass(frozen=True)
class Ledger:
    money: Decimal  # sales payments + pay-outs of reversals of sales
    energy: Decimal  # energy of vend and reversal entries
    collected: Decimal  # every payment and refund
    due: Decimal
    journal: Decimal  # the cash / agent float lines of the sales payments and reversal pay-outs
    reversed: Decimal  # money paid back for reversed sales (positive)


def from_ledger(period: Period, sites: Any) -> Ledger:
    start, end = day_bounds(period)
    entries = LedgerEntry.objects.filter(account__site__in=sites, created_at__gte=start, created_at__lt=end)
    sales = entries.filter(kind="payment", idempotency_key__endswith=":pay")
    backs = entries.filter(kind="refund", idempotency_key__startswith="reversal:")

    def total(qs: Any, f: str = "amount") -> Decimal:
        return qs.aggregate(s=Sum(f))["s"] or Decimal("0")

    lines = JournalLine.objects.filter(entry__in=[*sales, *backs])
    return Ledger(
        money=total(sales) + total(backs),
        energy=total(entries.filter(kind__in=("vend", "reversal")), "energy"),
        collected=total(entries.filter(kind__in=("payment", "refund"))),
        due=-total(entries.filter(kind__in=DUE)),
        journal=total(lines.exclude(book="customer")),
        reversed=-total(backs),
    )


# ---------------------------------------------------------------- the reports' figures


def report(client: Any, slug: str, **params: Any) -> Any:
    page = client.get(reverse("reports:report", args=[slug]), params)
    assert page.status_code == 200, page.content[:500]
    return page.context["data"]


def dates(p: Period) -> dict[str, str]:
    return {"date_from": p.start.isoformat(), "date_to": p.end.isoformat()}


PERIODS = [
    Period(date(2026, 5, 31), date(2026, 5, 31)),
    Period(date(2026, 6, 1), date(2026, 6, 1)),
    Period(date(2026, 5, 21), date(2026, 5, 31)),
    Period(date(2026, 6, 1), date(2026, 6, 10)),
    Period(date(2026, 5, 1), date(2026, 6, 30)),
]
MONTHS = ["2026-05", "2026-06"]


@pytest.mark.parametrize("seed", SEEDS)
class FiguresAgreeTestCase:
    def test_it_gives_one_value_for_each_figure_in_every_report(self, client, shop, clock, seed):
        day = build(shop, clock, seed)
        w = shop.world
        client.force_login(w.finance)
        group = [w.a1.site.pk, w.a2.site.pk]
        assert Vend.objects.filter(status=VendStatus.REVERSED).exists()
        for scope, sites in (({}, group), ({"site": w.a1.site.pk}, [w.a1.site.pk])):
            for p in PERIODS:
                ledger = from_ledger(p, sites)
                sales = report(client, "sales", **dates(p), **scope)
                assert (sales.totals["amount"], sales.totals["energy"]) == (ledger.money, ledger.energy), (
                    scope,
                    p,
                )
                assert ledger.money == ledger.journal
                recovery = report(client, "recovery", **dates(p), **scope)
                assert (recovery.totals["collected"], recovery.totals["due"]) == (
                    ledger.collected,
                    ledger.due,
                )
                balance_refunds = from_ledger_refunds(p, sites)
                assert recovery.totals["collected"] == sales.totals["amount"] - balance_refunds
                backs = report(client, "reversals", **dates(p), **scope, kind="reversal", status="approved")
                assert (
                    backs.totals["paid"]
                    == ledger.reversed
                    == -sum((r["amount"] for r in sales.rows if r["pk"] < 0), Decimal(0))
                )
            for month in MONTHS:
                first = date.fromisoformat(month + "-01")
                p = Period(first, date(2026, int(month[5:]), 31 if month.endswith("05") else 30))
                ledger = from_ledger(p, sites)
                allocation = report(client, "allocation", month=month, **scope)
                assert (allocation.totals["amount"], allocation.totals["energy"]) == (
                    ledger.money,
                    ledger.energy,
                )
                sales = report(client, "sales", **dates(p), **scope)
                assert sales.totals["amount"] == allocation.totals["amount"]
        self.check_dashboard(client, w.finance, group)
        self.check_dashboard(client, w.auditor, [w.a1.site.pk])
        self.check_cash_ups(day)

    def check_dashboard(self, client: Any, user: Any, sites: list[int]) -> None:
        client.force_login(user)
        data = client.get(reverse("reports:dashboard-data")).json()
        today = from_ledger(Period(DAY.date(), DAY.date()), sites)
        assert Decimal(data["today"]["total"]) == today.money
        by_point = sum((Decimal(v) for s in data["today"]["series"] for v in s["data"]), Decimal(0))
        assert by_point == today.money
        energy = sum((Decimal(v) for s in data["energy"]["series"] for v in s["data"]), Decimal(0))
        assert energy == today.energy  # the month so far is 1 June
        assert sum((Decimal(v) for v in data["recovery"]["collected"]), Decimal(0)) == today.collected
        live = client.get(reverse("reports:live")).json()
        assert live["today"]["total"] == data["today"]["total"]

    def check_cash_ups(self, day: Day) -> None:
        """Every closed shift balanced, and its expected money is the cash book at its point during it."""
        assert day.closed
        for shift in day.closed:
            shift.refresh_from_db()
            assert shift.status == ShiftStatus.CLOSED
            assert all(Decimal(v) == 0 for v in shift.difference.values())
            lines = JournalLine.objects.filter(
                book="cash",
                point=shift.point,
                created_at__gte=shift.opened_at,
                created_at__lte=shift.closed_at,
            )
            for method, expected in shift.expected.items():
                booked = lines.filter(method=method).aggregate(s=Sum("amount"))["s"] or Decimal(0)
                opening = shift.opening_float if method == "cash" else 0
                assert Decimal(expected) - opening == booked, (shift.pk, method)


def from_ledger_refunds(period: Period, sites: Any) -> Decimal:
    """Money paid back from balances (refunds that reverse no sale): positive."""
    start, end = day_bounds(period)
    refunds = LedgerEntry.objects.filter(
        account__site__in=sites,
        created_at__gte=start,
        created_at__lt=end,
        kind="refund",
        idempotency_key__startswith="refund:",
    )
    return -(refunds.aggregate(s=Sum("amount"))["s"] or Decimal(0))
