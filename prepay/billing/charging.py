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
  and never credited, straddling intervals prorated at cuts). The batch path charges the common case
  (registers never falling, one piece; flat, tiered, or time-of-use summed by period on PostgreSQL)
  from a database summary of the readings with the identical result (:func:`_fast_charge`,
  :func:`_tou_shares`); everything else goes reading by reading.
* The caller holds the account's row lock inside a transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from prepay.billing.lookups import cycle_usage, local_tz, tariff_for, tariff_versions, tou_calendar
from prepay.billing.models import Charge
from prepay.customers.choices import AccountMode, AccountStatus
from prepay.customers.models import Account
from prepay.domain import metering
from prepay.domain.charging import cycle_of, cycle_starts, round_pieces, split_period
from prepay.domain.money import ENERGY_PLACES, MONEY_PLACES, quantize
from prepay.domain.money import energy as q_energy
from prepay.domain.tariffs import Kind, Quote, day_type, price_intervals
from prepay.meters.models import Installation, Meter
from prepay.tariffs.models import Tariff
from prepay.telemetry.models import MeterReading
from prepay.vending import ledger
from prepay.vending.models import EntryKind, LedgerEntry


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


def _version_starts(account: Account, start: datetime, end: datetime, tz: tzinfo) -> list[datetime]:
    out = []
    for v in tariff_versions(account):
        at = datetime(v.effective_from.year, v.effective_from.month, v.effective_from.day, tzinfo=tz)
        if start < at < end:
            out.append(at)
    return out


@dataclass
class _Cursor:
    """Where the next charge of an installation starts: the instant, the register there, and the
    money its charges so far left unbilled by rounding (:func:`prepay.domain.charging.round_pieces`)."""

    at: datetime
    register: Decimal
    carry: Decimal = Decimal(0)


def _cursor(account: Account, inst: Installation) -> _Cursor:
    last = (
        Charge.objects.filter(account=account, meter_id=inst.meter_id, period_start__gte=inst.started_at)
        .order_by("-period_end")
        .first()
    )
    if last is not None:
        return _Cursor(last.period_end, last.to_register, last.carry)
    return _Cursor(inst.started_at, inst.opening_reading)


def _hwm_after(ivs: list[metering.Interval]) -> Decimal:
    last = ivs[-1]
    return last.from_value if metering.BACKWARDS in last.flags else last.to_value


@dataclass(frozen=True)
class _Summary:
    """What the database says about an installation's readings in ``(cursor, stop]``: how many, the
    newest instant, the lowest and highest register, and whether each register is ≥ the one before."""

    count: int
    last_at: datetime | None
    low: Decimal | None
    high: Decimal | None
    monotonic: bool


@dataclass(frozen=True)
class _Fast:
    """The whole charge of the common case, computed without per-reading work: ``energy`` up to
    ``end`` (the newest reading) and the register high-water mark ``hwm`` there. A time-of-use charge
    also needs ``shares``: its energy by period, as one wall-clock interval (start, start + 1 s,
    energy) per day and part of a day that no period boundary cuts, in time order
    (:func:`_tou_shares`); until they are read ``tou`` is its tariff."""

    end: datetime
    energy: Decimal
    hwm: Decimal
    shares: tuple[tuple[datetime, datetime, Decimal], ...] = ()
    tou: Any = None


def _fast_charge(account: Account, inst: Installation, cur: _Cursor, s: _Summary) -> _Fast | None:
    """The charge of an installation whose readings are the common case, or ``None`` when the full
    domain path (:func:`prepay.domain.metering.intervals` reading by reading) is needed.

    The common case: an installation still in place; at least one reading; every register ≥ the one
    before it and the first ≥ the cursor's register (so no interval is a rollover or backwards and no
    interval has a flag — the readings table allows one value per meter and instant, so no conflict);
    every value inside the register range and representable (stored to 0.001, so a register with at
    least three decimals); a flat or tiered tariff (priced on the period's energy, not per interval),
    or a time-of-use one without a quota (priced on each period's energy: see :func:`_tou_shares`);
    and a period that no cycle start or tariff version cuts. Then Σ interval energies telescopes to
    (newest register − cursor register) × multiplier, exactly what the intervals would sum to.
    """
    if inst.ended_at is not None or s.count == 0 or not s.monotonic:
        return None
    assert s.last_at is not None and s.low is not None and s.high is not None
    spec = register_spec(inst.meter)
    # validates the opening (cursor) register and the meter id exactly as the full path would
    metering.InstallationSpan(inst.meter.serial, spec, installed_at=cur.at, opening=cur.register)
    if spec.decimals < ENERGY_PLACES or s.low < cur.register or s.high > spec.max_value:
        return None
    tz = local_tz()
    _row, tariff = tariff_for(account, cur.at.astimezone(tz).date())
    if tariff.kind is Kind.TOU and tariff.quota is not None:
        return None  # the quota is used first in time order: reading by reading
    cuts = cycle_starts(tariff.cycle, cur.at, s.last_at, tz) + _version_starts(account, cur.at, s.last_at, tz)
    if len(split_period(cur.at, s.last_at, cuts)) != 1:
        return None
    energy = (s.high - cur.register).quantize(spec.resolution) * spec.multiplier
    return _Fast(s.last_at, energy, s.high, tou=tariff if tariff.kind is Kind.TOU else None)


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
    fast: _Fast | None = None,
    latest: dict[int, Any] | None = None,
    fresh: set[str] | None = None,
) -> list[Charge]:
    """Charge one installation up to ``until``. The batch path passes what it preloaded: the
    ``cursor``, the readings after it (``rows``: (read_at, register) in time order, at most
    ``until``) and the cycle ``usage`` (updated in place; with ``preloaded`` a cycle missing from it
    has no charges yet); ``save=False`` returns unsaved charges
    for one bulk insert (their ledger entries are posted here either way). ``fast``: the charge
    already computed by :func:`_fast_charge` (no readings needed). ``latest``: account id → its newest
    ledger entry (read under the lock; kept up to date here) and ``fresh``: idempotency keys proved
    unused — both only save the ledger's round trips."""
    meter = inst.meter
    cur = cursor or _cursor(account, inst)
    stop = until if inst.ended_at is None else min(until, inst.ended_at)
    if stop <= cur.at:
        return []
    serial = meter.serial
    if fast is not None:
        return _post_pieces(
            account,
            inst,
            cur,
            actor,
            fast.end,
            fast.hwm,
            None,
            [],
            fast,
            usage,
            preloaded,
            save,
            latest,
            fresh,
        )
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
    spec = register_spec(meter)
    end = max(r.at for r in readings)
    span = metering.InstallationSpan(serial, spec, installed_at=cur.at, opening=cur.register)
    ivs = metering.intervals(span.readings(readings), spec)
    return _post_pieces(
        account,
        inst,
        cur,
        actor,
        end,
        _hwm_after(ivs),
        span,
        readings,
        ivs,
        usage,
        preloaded,
        save,
        latest,
        fresh,
    )


@dataclass
class _Piece:
    """One priced piece of a charge period, before its money is rounded with the others."""

    lo: datetime
    hi: datetime
    energy: Decimal
    flags: frozenset[str]
    row: Tariff
    cycle: date
    quote: Quote
    tier_energy: Decimal
    quota_energy: Decimal
    to_register: Decimal
    rounding: str


def _piece_shares(
    ivs: list[metering.Interval] | _Fast,
    pieces: list[tuple[datetime, datetime]],
    lo: datetime,
    hi: datetime,
    span: metering.InstallationSpan | None,
    readings: list[metering.Reading],
) -> tuple[list[tuple[datetime, datetime, Decimal]], frozenset[str], Decimal]:
    """(interval shares, flags, energy) of the piece ``[lo, hi)``."""
    if isinstance(ivs, _Fast):  # one piece, no flags; a time-of-use one by period (see _fast_charge)
        return list(ivs.shares), frozenset(), ivs.energy
    if len(pieces) == 1:  # nothing to prorate: the intervals are the shares
        shares = [(iv.start, iv.end, iv.energy) for iv in ivs]
        flags: frozenset[str] = frozenset().union(*(iv.flags for iv in ivs))
    else:
        assert span is not None
        pc = metering.consumption(lo, hi, [span], readings)
        shares = [(sh.start, sh.end, sh.energy) for part in pc.parts for sh in part.shares]
        flags = pc.flags
    return shares, flags, sum((e for _s, _e, e in shares), Decimal(0))


def _price_pieces(
    account: Account,
    inst: Installation,
    cur: _Cursor,
    end: datetime,
    hwm_end: Decimal,
    span: metering.InstallationSpan | None,
    readings: list[metering.Reading],
    ivs: list[metering.Interval] | _Fast,
    used_in: Any,
) -> list[_Piece]:
    """Cut ``[cur.at, end]`` at cycle starts and tariff versions and price each piece exactly;
    ``used_in(cycle)`` is the cycle's [tier energy, quota energy] position, advanced here."""
    tz = local_tz()
    spec = register_spec(inst.meter)
    _row0, first_tariff = tariff_for(account, cur.at.astimezone(tz).date())
    cuts = cycle_starts(first_tariff.cycle, cur.at, end, tz) + _version_starts(account, cur.at, end, tz)
    pieces = split_period(cur.at, end, cuts)
    out: list[_Piece] = []
    from_register = cur.register
    for n, (lo, hi) in enumerate(pieces):
        shares, flags, energy = _piece_shares(ivs, pieces, lo, hi, span, readings)
        row, tariff = tariff_for(account, lo.astimezone(tz).date())
        cycle = cycle_of(tariff.cycle, lo, tz)
        position = used_in(cycle)
        if tariff.kind is Kind.TOU:  # priced by each interval's time of day
            priced = [(a.astimezone(tz), b.astimezone(tz), e) for a, b, e in shares if e > 0]
        else:  # flat and tiered price the piece's energy in order: one interval prices the same
            priced = [(lo.astimezone(tz), hi.astimezone(tz), energy)] if energy > 0 else []
        # holidays and make-up workdays change a time-of-use day's schedule
        holidays, workdays = tou_calendar(account) if tariff.kind is Kind.TOU else (frozenset(), frozenset())
        quote = price_intervals(
            tariff,
            priced or [(lo.astimezone(tz), hi.astimezone(tz), Decimal(0))],
            used_in_cycle=position[0],
            quota_used=position[1],
            holidays=holidays,
            workdays=workdays,
        )
        tier_energy = quote.used_in_cycle_after - quote.used_in_cycle
        quota_energy = quote.quota_used_after - quote.quota_used
        position[0] += tier_energy
        position[1] += quota_energy
        last_piece = n == len(pieces) - 1
        to_register = (
            hwm_end if last_piece else q_energy(from_register + energy / spec.multiplier) % spec.modulus
        )
        out.append(
            _Piece(
                lo,
                hi,
                energy,
                flags,
                row,
                cycle,
                quote,
                tier_energy,
                quota_energy,
                to_register,
                tariff.money_rounding,
            )
        )
        from_register = to_register
    return out


def _rounded_quote(quote: Quote, amount: Decimal, rounding: str) -> tuple[Decimal, list[dict[str, str]]]:
    """(VAT, breakdown lines) of a piece billed ``amount`` instead of its own rounded total: VAT
    is recomputed from the amount, and the largest line takes the difference so the lines still
    add up to what is billed (net of VAT when VAT is added, gross when prices include it)."""
    lines = [
        {"key": ln.key, "energy": str(ln.energy), "price": str(ln.price), "amount": str(ln.amount)}
        for ln in quote.lines
    ]
    if amount == quote.total:
        return quote.vat_amount, lines
    net = quantize(amount / (1 + quote.vat_rate), MONEY_PLACES, rounding)
    vat = amount - net
    delta = (amount - quote.total) if quote.vat_included else (net - quote.net_amount)
    if lines and delta:
        biggest = max(range(len(lines)), key=lambda i: Decimal(lines[i]["amount"]))
        lines[biggest]["amount"] = str(Decimal(lines[biggest]["amount"]) + delta)
    return vat, lines


def _post_pieces(
    account: Account,
    inst: Installation,
    cur: _Cursor,
    actor: Any,
    end: datetime,
    hwm_end: Decimal,
    span: metering.InstallationSpan | None,
    readings: list[metering.Reading],
    ivs: list[metering.Interval] | _Fast,
    usage: dict[date, list[Decimal]] | None,
    preloaded: bool,
    save: bool,
    latest: dict[int, Any] | None,
    fresh: set[str] | None,
) -> list[Charge]:
    """Price the pieces of ``[cur.at, end]``, round their money as a whole with the installation's
    carry (:func:`prepay.domain.charging.round_pieces`) and post each (see
    :func:`_charge_installation`). ``ivs`` is the intervals, or a :class:`_Fast` charge (then there
    is exactly one non-TOU piece)."""
    meter = inst.meter
    tz = local_tz()
    usage = {} if usage is None else usage

    def used_in(cycle: date) -> list[Decimal]:
        if cycle not in usage:
            usage[cycle] = [Decimal(0), Decimal(0)] if preloaded else list(cycle_usage(account, cycle))
        return usage[cycle]

    pieces = _price_pieces(account, inst, cur, end, hwm_end, span, readings, ivs, used_in)
    rounding = pieces[-1].rounding  # the tariff in force at the end of the run rounds it
    amounts, carries = round_pieces([p.quote.exact_total for p in pieces], carry=cur.carry, rounding=rounding)
    out: list[Charge] = []
    from_register = cur.register
    for p, amount, carry in zip(pieces, amounts, carries, strict=True):
        vat, lines = _rounded_quote(p.quote, amount, rounding)
        entry = None
        if amount != 0:
            key = charge_key(meter.pk, p.lo, p.hi)
            previous = latest.get(account.pk) if latest is not None else None
            entry = ledger.post(
                account,
                EntryKind.CHARGE,
                -amount,
                actor=actor,
                energy=p.energy,
                memo=f"{meter.serial} {p.lo.astimezone(tz):%Y-%m-%d %H:%M}–{p.hi.astimezone(tz):%Y-%m-%d %H:%M}",
                idempotency_key=key,
                book=ledger.REVENUE_ENERGY,
                tax=vat,
                previous=previous,
                fresh_key=fresh is not None and key in fresh,
            )
            # a repeated key returns the old entry: only a new one becomes the newest
            if latest is not None and entry.seq > (previous.seq if previous is not None else 0):
                latest[account.pk] = entry
        charge = Charge(
            account=account,
            meter=meter,
            tariff=p.row,
            period_start=p.lo,
            period_end=p.hi,
            cycle_start=p.cycle,
            from_register=from_register,
            to_register=p.to_register,
            energy=p.energy,
            tier_energy=p.tier_energy,
            quota_energy=p.quota_energy,
            amount=amount,
            vat=vat,
            carry=carry,
            lines=lines,
            flags=sorted(p.flags),
            entry=entry,
        )
        if save:
            charge.save()
        out.append(charge)
        from_register = p.to_register
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


def _summaries(
    installs: list[Installation], cursors: dict[int, _Cursor], stops: dict[int, datetime]
) -> dict[int, _Summary]:
    """:class:`_Summary` of each installation's readings in ``(cursor, stop]``. On PostgreSQL one
    query computes them (``lag()`` over each installation's readings in time order), so the
    million-reading case moves no rows to Python; elsewhere they are computed from the rows."""
    from django.db import connection

    out = {i.pk: _Summary(0, None, None, None, True) for i in installs}
    if connection.vendor != "postgresql":
        for i in installs:
            regs = list(
                MeterReading.objects.filter(
                    meter_id=i.meter_id, read_at__gt=cursors[i.pk].at, read_at__lte=stops[i.pk]
                )
                .order_by("read_at")
                .values_list("read_at", "register")
            )
            if regs:
                values = [r for _at, r in regs]
                out[i.pk] = _Summary(
                    len(regs),
                    regs[-1][0],
                    min(values),
                    max(values),
                    all(b >= a for a, b in zip(values, values[1:], strict=False)),
                )
        return out
    table = MeterReading._meta.db_table
    # LATERAL: one ordered index range scan per installation (the planner otherwise tends to hash-join
    # a sequential scan of the whole table for every batch right after a bulk load)
    sql = (
        "SELECT c.inst, s.n, s.last_at, s.low, s.high, s.monotonic "  # noqa: S608 - model table
        "FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[], %s::timestamptz[]) "
        "AS c(inst, meter, since, stop) CROSS JOIN LATERAL ("
        "SELECT count(*) AS n, max(read_at) AS last_at, min(register) AS low, max(register) AS high, "
        "bool_and(prev IS NULL OR register >= prev) AS monotonic FROM ("
        "SELECT read_at, register, lag(register) OVER (ORDER BY read_at) AS prev "
        f"FROM {table} r WHERE r.meter_id = c.meter AND r.read_at > c.since AND r.read_at <= c.stop"
        ") w) s WHERE s.n > 0"
    )
    params = (
        [i.pk for i in installs],
        [i.meter_id for i in installs],
        [cursors[i.pk].at for i in installs],
        [stops[i.pk] for i in installs],
    )
    with connection.cursor() as cur:
        cur.execute(sql, params)
        for pk, n, last_at, low, high, monotonic in cur.fetchall():
            # the register column holds thousandths (EnergyField)
            out[pk] = _Summary(
                n,
                last_at,
                Decimal(low).scaleb(-ENERGY_PLACES),
                Decimal(high).scaleb(-ENERGY_PLACES),
                monotonic,
            )
    return out


def _tou_bounds(account: Account, tariff: Any, lo: datetime, hi: datetime, tz: tzinfo) -> tuple[int, ...]:
    """Every instant (seconds after midnight, wall clock) where a time-of-use period may begin or end
    on a day of ``[lo, hi]``, for the account's calendar; ends with 86400 (midnight)."""
    holidays, workdays = tou_calendar(account)
    out: set[int] = set()
    day, last = lo.astimezone(tz).date(), hi.astimezone(tz).date()
    while day <= last:
        schedule, _prices = tariff.schedule_and_prices(day, day_type(day, holidays, workdays))
        out.update(m * 60 for p in schedule.periods for m in (p.start, p.end))
        day += timedelta(days=1)
    return (*sorted(b for b in out if 0 < b < 86400), 86400)


def _tou_sql() -> str:
    """The query of :func:`_tou_shares`: per installation, local day and part of the day, whether every
    interval lies inside its part, and the sum of their register deltas (thousandths)."""
    table = MeterReading._meta.db_table
    # an interval's start and end in seconds after its local midnight (a midnight end is 86400; an end
    # on another day is NULL, not ok); a part k holds the instants with k bounds at or before them
    start = "extract(epoch FROM w.la::time)::numeric"
    end = (
        "(CASE WHEN w.lb::date = w.la::date THEN extract(epoch FROM w.lb::time)::numeric "
        "WHEN w.lb = w.la::date + 1 THEN 86400 END)"
    )
    return (
        f"SELECT c.inst, w.la::date AS day, width_bucket({start}, %s::numeric[]) AS k, "  # noqa: S608
        f"coalesce(bool_and(w.lb > w.la AND width_bucket({start}, %s::numeric[]) "
        f"= width_bucket({end} - 0.000001, %s::numeric[])), false) AS ok, sum(w.d) "
        "FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[], %s::timestamptz[], %s::bigint[]) "
        "AS c(inst, meter, since, stop, reg0) CROSS JOIN LATERAL ("
        "SELECT coalesce(lag(read_at) OVER o, c.since) AT TIME ZONE %s AS la, read_at AT TIME ZONE %s AS lb, "
        "register - coalesce(lag(register) OVER o, c.reg0) AS d "
        f"FROM {table} r WHERE r.meter_id = c.meter AND r.read_at > c.since AND r.read_at <= c.stop "
        "WINDOW o AS (ORDER BY read_at)) w GROUP BY 1, 2, 3"
    )


def _tou_shares(
    installs: list[Installation],
    cursors: dict[int, _Cursor],
    fast: dict[int, _Fast],
    by_account: dict[int, Account],
) -> dict[int, tuple[tuple[datetime, datetime, Decimal], ...]]:
    """Installation → its energy by period (:attr:`_Fast.shares`), summed by PostgreSQL: each interval
    between consecutive readings (the first from the cursor) is put in the part of its local day
    between two of :func:`_tou_bounds`; an installation with an interval that such a boundary cuts,
    that spans midnight, or whose wall-clock end is not after its start (a clock turned back) is
    left out (the domain prorates or refuses it reading by reading). Pricing the sums
    gives what pricing each interval gives: an interval inside one period is all that period's, and
    the quote adds the energy of each period before it prices it (``price_intervals``)."""
    from django.db import connection

    tz = local_tz()
    zone = getattr(tz, "key", None)  # an IANA zone name PostgreSQL knows (Django's is a ZoneInfo)
    if connection.vendor != "postgresql" or not zone:
        return {}
    bounds_of = {
        i.pk: _tou_bounds(by_account[i.account_id], fast[i.pk].tou, cursors[i.pk].at, fast[i.pk].end, tz)
        for i in installs
        if cursors[i.pk].register.scaleb(ENERGY_PLACES) % 1 == 0  # the column holds thousandths
    }
    groups: dict[tuple[int, ...], list[Installation]] = {}
    for i in installs:
        if i.pk in bounds_of:
            groups.setdefault(bounds_of[i.pk], []).append(i)
    parts: dict[int, list[tuple[date, int, bool, int]]] = {}
    sql = _tou_sql()
    with connection.cursor() as cur:
        for bounds, group in groups.items():
            th = [Decimal(b) for b in bounds]
            cur.execute(
                sql,
                (
                    th,
                    th,
                    th,
                    [i.pk for i in group],
                    [i.meter_id for i in group],
                    [cursors[i.pk].at for i in group],
                    [fast[i.pk].end for i in group],
                    [int(cursors[i.pk].register.scaleb(ENERGY_PLACES)) for i in group],
                    zone,
                    zone,
                ),
            )
            for inst, day, k, ok, d in cur.fetchall():
                parts.setdefault(inst, []).append((day, k, ok, d))
    out = {}
    for i in installs:
        got = sorted(parts.get(i.pk, []))
        if not got or not all(ok for _d, _k, ok, _e in got):
            continue
        bounds = (0, *bounds_of[i.pk])  # part k of a day begins at bounds[k]
        mult = register_spec(i.meter).multiplier
        shares = []
        for day, k, _ok, d in got:
            start = datetime.combine(day, time(), tzinfo=tz) + timedelta(seconds=bounds[k])
            shares.append((start, start + timedelta(seconds=1), Decimal(d).scaleb(-ENERGY_PLACES) * mult))
        if sum((e for _a, _b, e in shares), Decimal(0)) == fast[i.pk].energy:
            out[i.pk] = tuple(shares)
    return out


def _lock_chargeable(account_ids: Sequence[int]) -> list[Account]:
    """The batch's accounts no other worker holds, locked (``skip_locked``), keeping the chargeable."""
    accounts = list(
        Account.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(pk__in=list(account_ids))
        .select_related("customer", "site")
        .order_by("pk")
    )
    return [a for a in accounts if chargeable(a)]


def _installs_and_cursors(
    accs: list[Account], until: datetime
) -> tuple[list[Installation], dict[int, _Cursor]]:
    """The accounts' installations begun before ``until``, each with its :class:`_Cursor` (where its
    last charge ended, else its opening reading), in one query."""
    from django.db.models import OuterRef, Subquery

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
            last_carry=Subquery(last.values("carry")[:1]),
        )
        .order_by("account_id", "started_at", "pk")
    )
    cursors = {
        i.pk: _Cursor(i.last_end, i.last_reg, i.last_carry)
        if i.last_end is not None
        else _Cursor(i.started_at, i.opening_reading)
        for i in installs
    }
    return installs, cursors


def _read_batch(
    installs: list[Installation], cursors: dict[int, _Cursor], by_account: dict[int, Account], until: datetime
) -> tuple[dict[int, _Fast], set[int], dict[int, list[tuple[datetime, Decimal]]]]:
    """(fast charges by installation, the installations read row by row, their readings by meter):
    the common case is charged from the readings' summary (:func:`_fast_charge`); only the unusual
    installations (and ended ones: their closing reading) read their rows."""
    stops = {i.pk: until if i.ended_at is None else min(until, i.ended_at) for i in installs}
    summaries = _summaries(installs, cursors, stops)
    fast = {
        i.pk: f
        for i in installs
        if (f := _fast_charge(by_account[i.account_id], i, cursors[i.pk], summaries[i.pk])) is not None
    }
    tou = [i for i in installs if i.pk in fast and fast[i.pk].tou is not None]
    shares = _tou_shares(tou, cursors, fast, by_account) if tou else {}
    for i in tou:  # read row by row unless the database could sum them by period
        if i.pk in shares:
            fast[i.pk] = replace(fast[i.pk], shares=shares[i.pk], tou=None)
        else:
            del fast[i.pk]
    slow = [i for i in installs if i.pk not in fast and (summaries[i.pk].count or i.ended_at is not None)]
    rows: dict[int, list[tuple[datetime, Decimal]]] = {i.meter_id: [] for i in slow}
    if slow:
        slow_since = min(cursors[i.pk].at for i in slow)
        for mid, at, reg in _readings(list(rows), slow_since, until):
            rows[mid].append((at, reg))
    return fast, {i.pk for i in slow}, rows


def _ledger_heads(
    accs: list[Account], installs: list[Installation], cursors: dict[int, _Cursor], fast: dict[int, _Fast]
) -> tuple[set[str], dict[int, Any]]:
    """(the fast charges' idempotency keys proved unused, each account's newest ledger entry): what
    spares the ledger its round trips (see :func:`_charge_installation`)."""
    from django.db.models import OuterRef, Subquery

    fresh = {charge_key(i.meter_id, cursors[i.pk].at, f.end) for i in installs if (f := fast.get(i.pk))}
    fresh -= set(
        LedgerEntry.objects.filter(idempotency_key__in=fresh).values_list("idempotency_key", flat=True)
    )
    newest = LedgerEntry.objects.filter(account=OuterRef("account_id")).order_by("-seq").values("seq")[:1]
    latest: dict[int, Any] = {
        e.account_id: e
        for e in LedgerEntry.objects.filter(account__in=accs, seq=Subquery(newest)).only(
            "pk", "account_id", "seq", "balance_after"
        )
    }
    return fresh, latest


def _batch_usage(accs: list[Account], since: datetime) -> dict[int, dict[date, list[Decimal]]]:
    """Account id → cycle start → [tier energy, quota energy] charged in the cycles ``since`` may fall
    in, in one query (a cycle missing from it has no charges yet)."""
    usage: dict[int, dict[date, list[Decimal]]] = {a.pk: {} for a in accs}
    first_cycle = date(since.astimezone(local_tz()).year, 1, 1)  # covers month and year cycles
    for aid, cyc, t, q in (
        Charge.objects.filter(account__in=accs, cycle_start__gte=first_cycle)
        .values("account_id", "cycle_start")
        .annotate(t=Sum("tier_energy"), q=Sum("quota_energy"))
        .values_list("account_id", "cycle_start", "t", "q")
    ):
        usage[aid][cyc] = [t or Decimal(0), q or Decimal(0)]
    return usage


def charge_batch(account_ids: Sequence[int], *, until: datetime, actor: Any = None) -> list[int]:
    """Charge several accounts in ONE transaction with a handful of queries for the whole batch
    (accounts, installations with their cursors, readings, cycle usage, supply facts) plus the ledger
    postings: the daemon's path. Accounts another worker holds are skipped
    (``select_for_update(skip_locked=True)``). Results are the same as :func:`charge_account` account by
    account (tests/billing/test_batch.py). Returns the ids locked and charged.
    """
    from django.db import transaction

    from prepay.billing import supply

    with transaction.atomic():
        accs = _lock_chargeable(account_ids)
        if not accs:
            return []
        installs, cursors = _installs_and_cursors(accs, until)
        if not installs:
            return [a.pk for a in accs]
        since = min(c.at for c in cursors.values())
        by_account = {a.pk: a for a in accs}
        fast, slow_ids, rows = _read_batch(installs, cursors, by_account, until)
        fresh, latest = _ledger_heads(accs, installs, cursors, fast)
        usage = _batch_usage(accs, since)
        new: list[Charge] = []
        for inst in installs:
            if inst.pk not in fast and inst.pk not in slow_ids:
                continue  # nothing read since the cursor: nothing to charge
            acc = by_account[inst.account_id]
            new += _charge_installation(
                acc,
                inst,
                until,
                actor,
                cursor=cursors[inst.pk],
                rows=rows.get(inst.meter_id, []),
                usage=usage[acc.pk],
                preloaded=True,
                save=False,
                fast=fast.get(inst.pk),
                latest=latest,
                fresh=fresh,
            )
        Charge.objects.bulk_create(new)
        _audit_batch(new, by_account, actor)
        balances = {c.account_id: c.entry.balance_after for c in new if c.entry is not None}
        supply.evaluate_many(accs, balances, actor=actor)
        return [a.pk for a in accs]


def _audit_batch(charges: Sequence[Charge], by_account: dict[int, Account], actor: Any) -> None:
    """One audit event per site for a batch's postings (in its transaction): which accounts were
    charged, how many entries and how much. The ledger entries and charge rows hold the detail; an
    event per charge would serialise every batch on the audit chain's head."""
    from prepay.audit.actions import record_event

    per_site: dict[int, list[Charge]] = {}
    for c in charges:
        if c.entry is not None:
            per_site.setdefault(by_account[c.account_id].site_id, []).append(c)
    for site_id, posted in sorted(per_site.items()):
        site = by_account[posted[0].account_id].site
        record_event(
            actor=actor,
            verb="billing.charge_batch",
            object_type="tenancy.site",
            object_id=str(site_id),
            object_repr=str(site),
            group_id=site.group_id,
            site_id=site_id,
            after={
                "accounts": sorted({c.account_id for c in posted}),
                "entries": len(posted),
                "amount": str(sum((c.amount for c in posted), Decimal("0.00"))),
            },
        )
