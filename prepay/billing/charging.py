"""Charging remote-control accounts from meter readings.

Contract:

* Only open accounts in remote fee control are charged (a local-control meter holds its own credit).
* For each installation of the account, the next charge starts where the last one ended (its
  ``period_end`` and register high-water mark ``to_register``) or at the installation's opening
  reading, and ends at the newest reading at or before ``until`` (or at the removal, with the closing
  reading, for a replaced meter). Charges end only on real readings, so a re-run with the same
  readings finds nothing new and changes nothing.
* The period is cut at tier-cycle starts and tariff-version changes (site wall clock); each piece is
  priced with :func:`prepay.domain.tariffs.price_intervals` — time-of-use by each interval's time,
  tiers by the energy already counted in the cycle — and posted as one ledger CHARGE with the key
  ``charge:<meter id>:<start>:<end>`` (UTC ISO), so the same piece can never be charged twice.
* Consumption comes from :mod:`prepay.domain.metering` (multiplier, rollover, backwards meters flagged
  and never credited, straddling intervals prorated at cuts).
* The caller holds the account's row lock inside a transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum
from django.utils import timezone

from prepay.billing.models import Charge, Household, TierBasis
from prepay.common.errors import ActionError
from prepay.customers.choices import AccountMode, AccountStatus
from prepay.customers.models import Account
from prepay.domain import metering
from prepay.domain.charging import cycle_of, cycle_starts, scale_tiers, split_period
from prepay.domain.money import energy as q_energy
from prepay.domain.tariffs import Kind, price_intervals
from prepay.domain.tariffs import Tariff as DomainTariff
from prepay.meters.models import Installation, Meter
from prepay.tariffs import engine
from prepay.tariffs.models import Tariff
from prepay.telemetry.models import MeterReading
from prepay.vending import ledger
from prepay.vending.models import EntryKind


class TariffMissing(LookupError):
    """No tariff version is in force for the account on a date."""


def local_tz() -> tzinfo:
    return timezone.get_default_timezone()


def register_spec(meter: Meter) -> metering.RegisterSpec:
    """The meter's register: digits from ``comm_params`` (``register_digits``, ``register_decimals``;
    default 6 and 3 — readings are stored to 0.001) and its CT/PT ratios."""
    params = meter.comm_params or {}
    return metering.RegisterSpec(
        int_digits=int(params.get("register_digits", 6)),
        decimals=int(params.get("register_decimals", 3)),
        ct_ratio=meter.ct_ratio,
        pt_ratio=meter.pt_ratio,
    )


_RUN_CACHE: ContextVar[dict[Any, Any] | None] = ContextVar("billing_run_cache", default=None)


@contextmanager
def run_cache() -> Iterator[None]:
    """Memoise tariff lookups for one billing run (many accounts share a few tariffs). Tariff rows
    are master data; a run sees the versions in force when it started."""
    token = _RUN_CACHE.set({})
    try:
        yield
    finally:
        _RUN_CACHE.reset(token)


def _cached(key: Any, compute: Any) -> Any:
    cache = _RUN_CACHE.get()
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def _assignment_key(account: Account) -> tuple[Any, ...]:
    return (account.tariff_id, account.site_id, account.customer.customer_type_id, account.utility)


def tariff_versions(account: Account) -> list[Tariff]:
    """All versions of the account's assigned tariff code (same group; its site or group-wide)."""

    def compute() -> list[Tariff]:
        row = engine.assigned_tariff(account)
        if row is None:
            return []
        return list(
            Tariff.objects.filter(group_id=row.group_id, code=row.code).filter(
                Q(site_id=row.site_id) | Q(site__isnull=True)
            )
        )

    return _cached(("versions", _assignment_key(account)), compute)  # type: ignore[no-any-return]


def tariff_for(account: Account, on: date) -> tuple[Tariff, DomainTariff]:
    """The account's tariff version in force on ``on`` (prepay.tariffs.engine.tariff_for) with its
    tiers scaled per person when the tariff says so (TierBasis) and the account has a Household."""

    def compute() -> tuple[Tariff, DomainTariff, bool]:
        try:
            row, domain = engine.tariff_for(account, on)
        except ActionError as exc:
            raise TariffMissing(str(exc)) from None
        basis = TierBasis.objects.filter(tariff=row).first()
        return row, domain, basis is not None and basis.per_person

    row, domain, per_person = _cached(("tariff", _assignment_key(account), on), compute)
    if per_person:
        household = Household.objects.filter(account=account).first()
        domain = scale_tiers(domain, household.persons if household else 1)
    return row, domain


def _version_starts(account: Account, start: datetime, end: datetime, tz: tzinfo) -> list[datetime]:
    out = []
    for v in tariff_versions(account):
        at = datetime(v.effective_from.year, v.effective_from.month, v.effective_from.day, tzinfo=tz)
        if start < at < end:
            out.append(at)
    return out


def cycle_usage(account: Account, cycle_start: date) -> tuple[Decimal, Decimal]:
    """(energy counted towards tiers, flat-price quota used) in the account's cycle so far."""
    agg = Charge.objects.filter(account=account, cycle_start=cycle_start).aggregate(
        t=Sum("tier_energy"), q=Sum("quota_energy")
    )
    return agg["t"] or Decimal(0), agg["q"] or Decimal(0)


@dataclass
class _Cursor:
    at: datetime
    register: Decimal


def _cursor(account: Account, inst: Installation) -> _Cursor:
    last = (
        Charge.objects.filter(account=account, meter_id=inst.meter_id, period_start__gte=inst.started_at)
        .order_by("-period_end")
        .first()
    )
    if last is not None:
        return _Cursor(last.period_end, last.to_register)
    return _Cursor(inst.started_at, inst.opening_reading)


def _hwm_after(ivs: list[metering.Interval]) -> Decimal:
    last = ivs[-1]
    return last.from_value if metering.BACKWARDS in last.flags else last.to_value


def _charge_installation(
    account: Account,
    inst: Installation,
    until: datetime,
    actor: Any,
    *,
    cursor: _Cursor | None = None,
    rows: list[tuple[datetime, Decimal]] | None = None,
    usage: dict[date, list[Decimal]] | None = None,
    preloaded: bool = False,
    save: bool = True,
) -> list[Charge]:
    """Charge one installation up to ``until``. The batch path passes what it preloaded: the
    ``cursor``, the readings after it (``rows``: (read_at, register) in time order, at most
    ``until``) and the cycle ``usage`` (updated in place; with ``preloaded`` a cycle missing from it
    has no charges yet); ``save=False`` returns unsaved charges
    for one bulk insert (their ledger entries are posted here either way)."""
    meter = inst.meter
    tz = local_tz()
    cur = cursor or _cursor(account, inst)
    stop = until if inst.ended_at is None else min(until, inst.ended_at)
    if stop <= cur.at:
        return []
    serial = meter.serial
    if rows is None:
        rows = list(
            MeterReading.objects.filter(meter=meter, read_at__gt=cur.at, read_at__lte=stop)
            .order_by("read_at")
            .values_list("read_at", "register")
        )
    readings = [metering.Reading(at, reg, serial) for at, reg in rows if cur.at < at <= stop]
    if inst.ended_at is not None and inst.closing_reading is not None and cur.at < inst.ended_at <= until:
        readings = [r for r in readings if r.at != inst.ended_at]
        readings.append(metering.Reading(inst.ended_at, inst.closing_reading, serial))
    if not readings:
        return []
    usage = {} if usage is None else usage

    def used_in(cycle: date) -> list[Decimal]:
        if cycle not in usage:
            usage[cycle] = [Decimal(0), Decimal(0)] if preloaded else list(cycle_usage(account, cycle))
        return usage[cycle]

    spec = register_spec(meter)
    end = max(r.at for r in readings)
    span = metering.InstallationSpan(serial, spec, installed_at=cur.at, opening=cur.register)
    ivs = metering.intervals(span.readings(readings), spec)
    hwm_end = _hwm_after(ivs)
    _row0, first_tariff = tariff_for(account, cur.at.astimezone(tz).date())
    cuts = cycle_starts(first_tariff.cycle, cur.at, end, tz) + _version_starts(account, cur.at, end, tz)
    pieces = split_period(cur.at, end, cuts)
    out: list[Charge] = []
    from_register = cur.register
    for n, (lo, hi) in enumerate(pieces):
        if len(pieces) == 1:  # nothing to prorate: the intervals are the shares
            shares = [(iv.start, iv.end, iv.energy) for iv in ivs]
            flags = frozenset().union(*(iv.flags for iv in ivs))
        else:
            pc = metering.consumption(lo, hi, [span], readings)
            shares = [(sh.start, sh.end, sh.energy) for part in pc.parts for sh in part.shares]
            flags = pc.flags
        energy = sum((e for _s, _e, e in shares), Decimal(0))
        row, tariff = tariff_for(account, lo.astimezone(tz).date())
        cycle = cycle_of(tariff.cycle, lo, tz)
        position = used_in(cycle)
        if tariff.kind is Kind.TOU:  # priced by each interval's time of day
            priced = [(a.astimezone(tz), b.astimezone(tz), e) for a, b, e in shares if e > 0]
        else:  # flat and tiered price the piece's energy in order: one interval prices the same
            priced = [(lo.astimezone(tz), hi.astimezone(tz), energy)] if energy > 0 else []
        quote = price_intervals(
            tariff,
            priced or [(lo.astimezone(tz), hi.astimezone(tz), Decimal(0))],
            used_in_cycle=position[0],
            quota_used=position[1],
        )
        tier_energy = quote.used_in_cycle_after - quote.used_in_cycle
        quota_energy = quote.quota_used_after - quote.quota_used
        position[0] += tier_energy
        position[1] += quota_energy
        last_piece = n == len(pieces) - 1
        to_register = (
            hwm_end if last_piece else q_energy(from_register + energy / spec.multiplier) % spec.modulus
        )
        entry = None
        if quote.total != 0:
            entry = ledger.post(
                account,
                EntryKind.CHARGE,
                -quote.total,
                actor=actor,
                energy=energy,
                memo=f"{meter.serial} {lo.astimezone(tz):%Y-%m-%d %H:%M}–{hi.astimezone(tz):%Y-%m-%d %H:%M}",
                idempotency_key=charge_key(meter.pk, lo, hi),
                book=ledger.REVENUE_ENERGY,
                tax=quote.vat_amount,
            )
        charge = Charge(
            account=account,
            meter=meter,
            tariff=row,
            period_start=lo,
            period_end=hi,
            cycle_start=cycle,
            from_register=from_register,
            to_register=to_register,
            energy=energy,
            tier_energy=tier_energy,
            quota_energy=quota_energy,
            amount=quote.total,
            vat=quote.vat_amount,
            lines=[
                {"key": ln.key, "energy": str(ln.energy), "price": str(ln.price), "amount": str(ln.amount)}
                for ln in quote.lines
            ],
            flags=sorted(flags),
            entry=entry,
        )
        if save:
            charge.save()
        out.append(charge)
        from_register = to_register
    return out


def charge_key(meter_id: int, start: datetime, end: datetime) -> str:
    """The ledger idempotency key of a charge: meter and period in UTC."""
    return f"charge:{meter_id}:{start.astimezone(UTC).isoformat()}:{end.astimezone(UTC).isoformat()}"


def chargeable(account: Account) -> bool:
    return account.mode == AccountMode.REMOTE and account.status == AccountStatus.OPEN


def charge_account(account: Account, *, until: datetime | None = None, actor: Any = None) -> list[Charge]:
    """Charge everything read up to ``until`` (default now). Caller holds the account lock."""
    if not chargeable(account):
        return []
    until = until or timezone.now()
    out: list[Charge] = []
    installs = (
        Installation.objects.filter(account=account, started_at__lt=until)
        .select_related("meter")
        .order_by("started_at", "pk")
    )
    for inst in installs:
        out += _charge_installation(account, inst, until, actor)
    return out


def _readings(
    meter_ids: list[int], since: datetime, until: datetime
) -> Iterator[tuple[int, datetime, Decimal]]:
    """(meter id, read_at, register) in meter and time order. On PostgreSQL a binary cursor reads
    them (no text parsing of a million timestamps); the register column holds thousandths."""
    from django.db import connection

    if connection.vendor != "postgresql":
        yield from (
            MeterReading.objects.filter(meter_id__in=meter_ids, read_at__gt=since, read_at__lte=until)
            .order_by("meter_id", "read_at")
            .values_list("meter_id", "read_at", "register")
        )
        return
    table = MeterReading._meta.db_table
    sql = (
        f"SELECT meter_id, read_at, register FROM {table} "  # noqa: S608 - table name from the model
        "WHERE meter_id = ANY(%s) AND read_at > %s AND read_at <= %s ORDER BY meter_id, read_at"
    )
    import psycopg

    connection.ensure_connection()
    # Django's connections use client-side cursors (text only); a plain server-binding cursor on the
    # same connection (same transaction) can return binary rows.
    with psycopg.Cursor(connection.connection) as cur:
        cur.execute(sql, (meter_ids, since, until), binary=True)
        for mid, at, reg in cur:
            yield mid, at, Decimal(reg).scaleb(-3)


def charge_batch(account_ids: Sequence[int], *, until: datetime, actor: Any = None) -> list[int]:
    """Charge several accounts in ONE transaction with a handful of queries for the whole batch
    (accounts, installations with their cursors, readings, cycle usage, supply facts) plus the ledger
    postings: the daemon's path. Accounts another worker holds are skipped
    (``select_for_update(skip_locked=True)``). Results are the same as :func:`charge_account` account by
    account (tests/billing/test_batch.py). Returns the ids locked and charged.
    """
    from django.db import transaction
    from django.db.models import OuterRef, Subquery

    from prepay.billing import supply

    with transaction.atomic():
        accounts = list(
            Account.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=list(account_ids))
            .select_related("customer", "site")
            .order_by("pk")
        )
        accs = [a for a in accounts if chargeable(a)]
        if not accs:
            return []
        last = Charge.objects.filter(
            account=OuterRef("account_id"),
            meter=OuterRef("meter_id"),
            period_start__gte=OuterRef("started_at"),
        ).order_by("-period_end")
        installs = list(
            Installation.objects.filter(account__in=accs, started_at__lt=until)
            .select_related("meter")
            .annotate(
                last_end=Subquery(last.values("period_end")[:1]),
                last_reg=Subquery(last.values("to_register")[:1]),
            )
            .order_by("account_id", "started_at", "pk")
        )
        cursors = {
            i.pk: _Cursor(i.last_end, i.last_reg)
            if i.last_end is not None
            else _Cursor(i.started_at, i.opening_reading)
            for i in installs
        }
        if not installs:
            return [a.pk for a in accs]
        since = min(c.at for c in cursors.values())
        rows: dict[int, list[tuple[datetime, Decimal]]] = {i.meter_id: [] for i in installs}
        for mid, at, reg in _readings(list(rows), since, until):
            rows[mid].append((at, reg))
        usage: dict[int, dict[date, list[Decimal]]] = {a.pk: {} for a in accs}
        first_cycle = date(since.astimezone(local_tz()).year, 1, 1)  # covers month and year cycles
        for aid, cyc, t, q in (
            Charge.objects.filter(account__in=accs, cycle_start__gte=first_cycle)
            .values("account_id", "cycle_start")
            .annotate(t=Sum("tier_energy"), q=Sum("quota_energy"))
            .values_list("account_id", "cycle_start", "t", "q")
        ):
            usage[aid][cyc] = [t or Decimal(0), q or Decimal(0)]
        by_account = {a.pk: a for a in accs}
        new: list[Charge] = []
        for inst in installs:
            acc = by_account[inst.account_id]
            new += _charge_installation(
                acc,
                inst,
                until,
                actor,
                cursor=cursors[inst.pk],
                rows=rows[inst.meter_id],
                usage=usage[acc.pk],
                preloaded=True,
                save=False,
            )
        Charge.objects.bulk_create(new)
        balances = {c.account_id: c.entry.balance_after for c in new if c.entry is not None}
        supply.evaluate_many(accs, balances, actor=actor)
        return [a.pk for a in accs]
