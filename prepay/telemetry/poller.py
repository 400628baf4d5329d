"""The meter poller: claim due meters, talk to them concurrently, write the results in bulk.

One cycle (:meth:`Poller.cycle`) has three phases, so the database is only ever touched from the
calling thread and the network only from the poller's event loop:

1. **claim** (database): due :class:`MeterLink` rows are claimed atomically — on PostgreSQL with
   ``SELECT … FOR UPDATE SKIP LOCKED`` and a lease (``claimed_until``), so several pollers side by
   side never poll one meter twice; SQLite serialises writers and runs a single poller. The claimed
   meters' due commands are marked ``sent``. Everything the drivers need is copied into plain
   :class:`~prepay.meters.drivers.base.Target` objects.
2. **talk** (asyncio, a background thread owning the event loop and the shared transports): each
   meter runs its queued commands (each confirmed by reading the meter back), then one read.
   Concurrency is bounded; transports keep one request outstanding per bus / connection.
3. **write** (database): readings are bulk-inserted (energy = register × CT × PT), links updated in
   bulk (online / offline after ``offline_after`` consecutive failures, relay state, status), events
   written, commands finished through :func:`prepay.telemetry.bookkeeping.finish_command` (audited with
   the requester as actor) and the claims released.

Every cycle also writes the DTU listener's security events (refused claims, takeovers), which wait
for it in the listener's bounded queue. A command the driver did not send because the meter's DTU
id is disputed (``DriverError("disputed")``) stays queued without using up an attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Coroutine, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from prepay.domain.money import energy as q_energy
from prepay.domain.money import money as q_money
from prepay.meters.drivers.base import Capability, DriverError, MeterDriver, Reading, RelayOp, Target
from prepay.meters.drivers.registry import DriverPool, channel_of
from prepay.meters.models import Meter
from prepay.telemetry.bookkeeping import ensure_link, finish_command, hold_command, record_wire_events
from prepay.telemetry.models import (
    ChannelClaim,
    CommandKind,
    CommandStatus,
    MeterCommand,
    MeterEvent,
    MeterLink,
    MeterReading,
    ReadingSource,
    RelayState,
)
from prepay.telemetry.retry import RetryPolicy

T = TypeVar("T")

#: pages of ``batch`` due links a claim reads at most, passing over those of channels held elsewhere
CLAIM_PAGES = 10

#: driver error codes that retrying cannot fix: the command fails at once. A meter's refusal is
#: retried with backoff (a deadline refused before a clock sync, a trip under keep-power that is
#: about to end, a meter suspended for a while), and fails after the policy's last attempt.
FINAL_ERRORS = frozenset({"unsupported", "config"})


@dataclass
class PollSummary:
    """What one cycle did (counts), returned by :func:`poll_once` and printed by ``pollmeters``."""

    claimed: int = 0
    ok: int = 0
    failed: int = 0
    readings: int = 0
    commands_confirmed: int = 0
    commands_retried: int = 0
    commands_failed: int = 0
    commands_held: int = 0  # not sent: the DTU claim is disputed; still queued
    wire_events: int = 0  # meter events written for the DTU listener's security events
    went_offline: int = 0
    came_online: int = 0
    seconds: float = 0.0
    talk_seconds: float = 0.0  # of which network phase
    write_seconds: float = 0.0  # of which write phase
    errors: dict[str, int] = field(default_factory=dict)

    def add(self, other: PollSummary) -> None:
        for name in (
            "claimed",
            "ok",
            "failed",
            "readings",
            "commands_confirmed",
            "commands_retried",
            "commands_failed",
            "commands_held",
            "wire_events",
            "went_offline",
            "came_online",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.seconds += other.seconds
        for k, v in other.errors.items():
            self.errors[k] = self.errors.get(k, 0) + v


@dataclass
class _Job:
    """A command to run, copied out of the database."""

    pk: int
    kind: str
    params: dict[str, Any]
    result: dict[str, Any]


@dataclass
class _CommandOutcome:
    pk: int
    confirmed: bool
    result: dict[str, Any]
    error: str = ""
    final: bool = False  # do not retry
    held: bool = False  # not sent (DTU claim disputed): back to the queue, no attempt counted


@dataclass
class _Outcome:
    link_id: int
    target: Target
    reading: Reading | None
    read_at: datetime | None
    error: DriverError | None
    commands: list[_CommandOutcome]


class _LoopThread:
    """An asyncio event loop in a daemon thread; :meth:`run` executes a coroutine there and waits."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._main, name="poller-io", daemon=True)
        self.thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        fut: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def _name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{id(threading.current_thread()) % 10000}"[:64]


class Poller:
    """Polls meters; use as a context manager (it owns an event loop thread and open connections).

    Options: ``batch`` (links claimed per cycle), ``concurrency`` (meters talked to at once),
    ``offline_after`` (consecutive failures before a meter is marked offline), ``lease`` (seconds a
    claim lasts: a crashed poller's meters come back after it), ``retry`` (the
    :class:`~prepay.telemetry.retry.RetryPolicy` of failed commands; default from the settings),
    ``command_retry`` (wait before a command held for a disputed DTU is tried again); ``pool`` options go to
    :class:`~prepay.meters.drivers.registry.DriverPool` (timeouts, retries, MQTT broker, DTU listener).
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        batch: int = 1000,
        concurrency: int = 256,
        offline_after: int = 3,
        lease: int = 120,
        command_retry: timedelta = timedelta(seconds=30),
        retry: RetryPolicy | None = None,
        **pool: Any,
    ) -> None:
        self.name = name or _name()
        self.batch = batch
        self.concurrency = concurrency
        self.offline_after = offline_after
        self.lease = lease
        self.command_retry = command_retry
        self.retry = retry or RetryPolicy.from_settings()
        self.pool_options = pool
        self._io: _LoopThread | None = None
        self.pool: DriverPool | None = None

    # ------------------------------------------------------------------ lifetime

    def __enter__(self) -> Poller:
        self._io = _LoopThread()
        self.pool = self._io.run(self._make_pool())
        return self

    async def _make_pool(self) -> DriverPool:
        pool = DriverPool(**self.pool_options)
        await pool.start()
        return pool

    def __exit__(self, *exc: object) -> None:
        if self._io is not None:
            if self.pool is not None:
                # security events still queued in the listener are written before it goes away
                with contextlib.suppress(Exception):
                    self._record_wire_events()
                # closing is best-effort: the loop is torn down anyway
                with contextlib.suppress(Exception):
                    self._io.run(self.pool.close(), timeout=10)
            self._io.stop()
        self._io = None
        self.pool = None

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run a coroutine on the poller's loop (e.g. wait for a DTU to dial in)."""
        assert self._io is not None, "use the Poller as a context manager"
        return self._io.run(coro, timeout)

    # ------------------------------------------------------------------ one cycle

    def cycle(self, meters: Iterable[Meter] | None = None) -> PollSummary:
        """Claim (due links, or exactly ``meters``), talk, write. Returns the cycle's summary."""
        t0 = time.perf_counter()
        summary = PollSummary()
        summary.wire_events = self._record_wire_events()
        now = timezone.now()
        link_ids = self._claim(now, meters)
        summary.claimed = len(link_ids)
        if link_ids:
            work = self._load(link_ids, now)
            t1 = time.perf_counter()
            outcomes = self.run(self._talk(work))
            t2 = time.perf_counter()
            self._write(outcomes, summary)
            self._release_channels()
            summary.talk_seconds = t2 - t1
            summary.write_seconds = time.perf_counter() - t2
        summary.seconds = time.perf_counter() - t0
        return summary

    def _record_wire_events(self) -> int:
        """Move the listener's queued security events to the database (meter events, audit)."""
        assert self.pool is not None
        pool = self.pool

        async def take() -> list[Any]:
            return pool.take_events()

        events = self.run(take()) if pool.dial_in is not None else []
        return record_wire_events(events) if events else 0

    def _claim(self, now: datetime, meters: Iterable[Meter] | None) -> list[int]:
        """Claim due links (or exactly ``meters``' links) with the channels they are reached through:
        a link behind a gateway, serial server or DTU is claimed only with its channel, which one
        poller holds at a time (:class:`ChannelClaim`); links of channels another poller holds stay
        for it. A DTU's channel is taken by the poller whose listener holds the DTU's connection;
        any other poller takes it only once its links are overdue by more than a lease (nobody holds
        the connection: the poll fails and says so, and the meter goes offline)."""
        until = now + timedelta(seconds=self.lease)
        with transaction.atomic():
            if meters is not None:
                wanted = [m for m in meters if m.protocol]
                for m in wanted:
                    ensure_link(m, at=now)
                qs = MeterLink.objects.filter(meter__in=wanted)
            else:
                qs = MeterLink.objects.filter(next_poll_at__lte=now).exclude(meter__protocol="")
            qs = qs.filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)).order_by(
                "next_poll_at", "pk"
            )
            if connection.features.has_select_for_update_skip_locked:
                qs = qs.select_for_update(skip_locked=True, of=("self",))
            ids = self._pick(qs, now, until, self._dtus_here() if meters is None else None)
            if ids:
                MeterLink.objects.filter(pk__in=ids).update(claimed_until=until, claimed_by=self.name)
            return ids

    def _pick(self, qs: Any, now: datetime, until: datetime, here: set[str] | None) -> list[int]:
        """Up to ``batch`` links of ``qs`` (locked as they are read) whose channel this poller now
        holds or that have none, reading ``batch`` candidates at a time, at most :data:`CLAIM_PAGES`
        times: links of channels held elsewhere are passed over. ``here``: the DTUs connected to this
        poller (None: take any DTU's channel — the meters were asked for by name)."""
        overdue = now - timedelta(seconds=self.lease)
        held: set[str] = set()
        elsewhere: set[str] = set()
        ids: list[int] = []
        seen: set[int] = set()
        for page in range(CLAIM_PAGES):
            rows = list(
                qs.values_list(
                    "pk", "next_poll_at", "meter__serial", "meter__protocol", "meter__comm_params"
                )[page * self.batch : (page + 1) * self.batch]
            )
            channel = {
                pk: channel_of(Target(0, serial, protocol, dict(params or {})))
                for pk, _due, serial, protocol, params in rows
                if pk not in seen
            }
            seen.update(channel)
            asked = (
                {
                    key
                    for pk, due, *_meter in rows
                    if (key := channel.get(pk))
                    and (here is None or not key.startswith("dtu:") or key[4:] in here or due < overdue)
                }
                - held
                - elsewhere
            )
            got = self._claim_channels(asked, now, until)
            held |= got
            elsewhere |= asked - got
            ids += [pk for pk, key in channel.items() if not key or key in held][: self.batch - len(ids)]
            if len(ids) >= self.batch or len(rows) < self.batch:
                break
        return ids

    def _dtus_here(self) -> set[str]:
        """The ids of the DTUs whose connection this poller's listener holds now."""
        listener = self.pool.dial_in if self.pool is not None else None
        if listener is None:
            return set()

        async def connected() -> set[str]:
            return listener.connected_ids()

        return self.run(connected())

    def _claim_channels(self, keys: set[str], now: datetime, until: datetime) -> set[str]:
        """Of ``keys``, the channels this poller now holds until ``until``: those free, run out or
        already its own (rows are made on first sight, in key order so pollers never deadlock)."""
        if not keys:
            return set()
        ordered = sorted(keys)
        ChannelClaim.objects.bulk_create([ChannelClaim(key=k) for k in ordered], ignore_conflicts=True)
        free = ChannelClaim.objects.filter(key__in=ordered).filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now) | Q(claimed_by=self.name)
        )
        if connection.features.has_select_for_update_skip_locked:
            free = free.select_for_update(skip_locked=True)
        held = set(free.values_list("key", flat=True))
        ChannelClaim.objects.filter(key__in=held).update(claimed_until=until, claimed_by=self.name)
        return held

    def _release_channels(self) -> None:
        """Give back the channels this poller holds (its cycle's links are written)."""
        ChannelClaim.objects.filter(claimed_by=self.name).update(claimed_until=None, claimed_by="")

    def _load(self, link_ids: list[int], now: datetime) -> list[tuple[int, Target, list[_Job]]]:
        links = list(MeterLink.objects.filter(pk__in=link_ids).select_related("meter__model"))
        meter_ids = [link.meter_id for link in links]
        jobs: dict[int, list[_Job]] = {}
        with transaction.atomic():
            due = list(
                MeterCommand.objects.select_for_update()
                .filter(meter_id__in=meter_ids, status=CommandStatus.QUEUED, next_attempt_at__lte=now)
                .order_by("created_at", "pk")
            )
            for c in due:
                jobs.setdefault(c.meter_id, []).append(_Job(c.pk, c.kind, dict(c.params), dict(c.result)))
            if due:
                MeterCommand.objects.filter(pk__in=[c.pk for c in due]).update(status=CommandStatus.SENT)
        work = []
        for link in links:
            m = link.meter
            target = Target(
                meter_id=m.pk,
                serial=m.serial,
                protocol=m.protocol,
                comm_params=dict(m.comm_params or {}),
                kind=m.model.kind,
                ct_ratio=m.ct_ratio,
                pt_ratio=m.pt_ratio,
            )
            work.append((link.pk, target, jobs.get(m.pk, [])))
        return work

    # ------------------------------------------------------------------ network phase

    async def _talk(self, work: list[tuple[int, Target, list[_Job]]]) -> list[_Outcome]:
        sem = asyncio.Semaphore(self.concurrency)

        async def one(link_id: int, target: Target, jobs: list[_Job]) -> _Outcome:
            async with sem:
                return await self._poll_meter(link_id, target, jobs)

        return list(await asyncio.gather(*(one(*w) for w in work)))

    async def _poll_meter(self, link_id: int, target: Target, jobs: list[_Job]) -> _Outcome:
        assert self.pool is not None
        outcomes: list[_CommandOutcome] = []
        try:
            driver = self.pool.driver(target)
        except DriverError as exc:
            outcomes = [_CommandOutcome(j.pk, False, j.result, exc.message, final=True) for j in jobs]
            return _Outcome(link_id, target, None, None, exc, outcomes)
        for job in jobs:
            outcomes.append(await self._execute(driver, job))
        try:
            reading = await driver.read()
        except DriverError as exc:
            return _Outcome(link_id, target, None, None, exc, outcomes)
        return _Outcome(link_id, target, reading, timezone.now(), None, outcomes)

    async def _execute(self, driver: MeterDriver, job: _Job) -> _CommandOutcome:
        """Run one command and confirm it by reading the meter back."""
        result = dict(job.result)
        try:
            if job.kind == CommandKind.CREDIT:
                return await self._credit(driver, job, result)
            if job.kind == CommandKind.SYNC_CLOCK:
                if not driver.can(Capability.CLOCK):
                    raise DriverError("unsupported", "this meter cannot set its clock")
                await driver.sync_clock(timezone.localtime().replace(tzinfo=None))
                return _CommandOutcome(job.pk, True, result)
            op, check = _RELAY[job.kind](job.params)
            try:
                await driver.relay(op)
            finally:
                offset = getattr(driver, "clock_offset", None)  # DL/T 645: deadline from the meter's clock
                if offset is not None:
                    result["meter_clock_offset_s"] = int(offset.total_seconds())
            if check is None:  # close-allowed: the customer closes; the meter's ack is the confirmation
                return _CommandOutcome(job.pk, True, result)
            back = await driver.read()
            result["read_back"] = _describe(back)
            if check(back):
                return _CommandOutcome(job.pk, True, result)
            return _CommandOutcome(job.pk, False, result, "read-back does not show the command's effect")
        except DriverError as exc:
            if exc.code == "disputed":
                return _CommandOutcome(job.pk, False, result, exc.message, held=True)
            return _CommandOutcome(job.pk, False, result, exc.message, final=exc.code in FINAL_ERRORS)

    async def _credit(self, driver: MeterDriver, job: _Job, result: dict[str, Any]) -> _CommandOutcome:
        if not driver.can(Capability.CREDIT):
            raise DriverError("unsupported", "this meter cannot take remote credit")
        amount = Decimal(job.params["amount"])
        before = await driver.read()
        count = before.purchase_count
        if count is None:
            raise DriverError("unsupported", "the meter does not report a purchase count")
        seq = result.get("sequence")
        if isinstance(seq, int) and count >= seq:
            # an earlier attempt was applied but its confirmation was lost: never load twice
            result["read_back"] = _describe(before)
            return _CommandOutcome(job.pk, True, result)
        seq = count + 1
        result["sequence"] = seq
        result["balance_before"] = str(before.balance) if before.balance is not None else None
        await driver.push_credit(amount, seq)
        back = await driver.read()
        result["read_back"] = _describe(back)
        if back.purchase_count is not None and back.purchase_count >= seq:
            return _CommandOutcome(job.pk, True, result)
        return _CommandOutcome(job.pk, False, result, "read-back does not show the purchase")

    # ------------------------------------------------------------------ write phase

    def _write(self, outcomes: list[_Outcome], summary: PollSummary) -> None:
        links = {link.pk: link for link in MeterLink.objects.filter(pk__in=[o.link_id for o in outcomes])}
        readings: list[MeterReading] = []
        events: list[MeterEvent] = []
        now = timezone.now()
        for o in outcomes:
            link = links[o.link_id]
            if o.reading is not None and o.read_at is not None:
                summary.ok += 1
                readings.append(reading_row(o.target, o.reading, o.read_at))
                if not link.online:
                    summary.came_online += 1
                    events.append(MeterEvent(meter_id=link.meter_id, at=now, kind="online", detail={}))
                new_relay = _relay_state(o.reading.relay_open)
                if new_relay != RelayState.UNKNOWN and new_relay != link.relay_state:
                    if link.relay_state != RelayState.UNKNOWN:  # first sight is no change
                        events.append(
                            MeterEvent(
                                meter_id=link.meter_id,
                                at=now,
                                kind="relay",
                                detail={"from": link.relay_state, "to": new_relay},
                            )
                        )
                    link.relay_state = new_relay
                events.extend(_status_events(link, o.reading.status, now))
                link.status_word = o.reading.status
                link.online = True
                link.fail_count = 0
                link.last_seen_at = now  # one time per cycle keeps the bulk update small (read_at is exact)
                link.last_error = ""
                link.next_poll_at = now + timedelta(seconds=link.poll_interval)
            else:
                summary.failed += 1
                err = o.error or DriverError("timeout", "no reading")
                summary.errors[err.code] = summary.errors.get(err.code, 0) + 1
                link.fail_count += 1
                link.last_error = err.message[:200]
                if link.online and link.fail_count >= self.offline_after:
                    link.online = False
                    summary.went_offline += 1
                    events.append(
                        MeterEvent(
                            meter_id=link.meter_id,
                            at=now,
                            kind="offline",
                            detail={"error": err.code, "message": err.message[:200]},
                        )
                    )
                # come back sooner than the interval, but back off as failures repeat
                link.next_poll_at = now + timedelta(seconds=min(link.poll_interval, 30 * link.fail_count))
            link.claimed_until = None
            link.claimed_by = ""
        with transaction.atomic():
            if readings:
                MeterReading.objects.bulk_create(readings, ignore_conflicts=True, batch_size=1000)
                summary.readings += len(readings)
            if events:
                MeterEvent.objects.bulk_create(events, batch_size=1000)
            _update_links(list(links.values()))
        self._finish_commands(outcomes, summary)

    def _finish_commands(self, outcomes: list[_Outcome], summary: PollSummary) -> None:
        """Record each command's attempt (or its hold) and bring retried meters forward."""
        for o in outcomes:
            for c in o.commands:
                if c.held:
                    cmd = hold_command(MeterCommand(pk=c.pk), error=c.error, retry_in=self.command_retry)
                    summary.commands_held += 1
                else:
                    cmd = finish_command(
                        MeterCommand(pk=c.pk),
                        confirmed=c.confirmed,
                        result=c.result,
                        error=c.error,
                        final=c.final,
                        policy=self.retry,
                    )
                    if cmd.status == CommandStatus.CONFIRMED:
                        summary.commands_confirmed += 1
                    elif cmd.status == CommandStatus.FAILED:
                        summary.commands_failed += 1
                    else:
                        summary.commands_retried += 1
                if cmd.status == CommandStatus.QUEUED:
                    MeterLink.objects.filter(pk=o.link_id, next_poll_at__gt=cmd.next_attempt_at).update(
                        next_poll_at=cmd.next_attempt_at
                    )


#: link fields the write phase sets
_LINK_FIELDS = (
    "relay_state",
    "status_word",
    "online",
    "fail_count",
    "last_seen_at",
    "last_error",
    "next_poll_at",
    "claimed_until",
    "claimed_by",
)


def _update_links(links: list[MeterLink]) -> None:
    """Write the links' new state with one UPDATE per distinct set of values.

    After a cycle most links share their values (online, no error, same interval, same status),
    so grouping them beats ``bulk_update``'s per-row CASE expressions by far on large batches.
    """
    groups: dict[str, tuple[dict[str, Any], list[int]]] = {}
    for link in links:
        values = {f: getattr(link, f) for f in _LINK_FIELDS}
        key = json.dumps(values, sort_keys=True, default=str)
        groups.setdefault(key, (values, []))[1].append(link.pk)
    for values, ids in groups.values():
        for i in range(0, len(ids), 1000):
            MeterLink.objects.filter(pk__in=ids[i : i + 1000]).update(**values)


def reading_row(target: Target, r: Reading, at: datetime, source: str = ReadingSource.POLL) -> MeterReading:
    """The reading row of ``r`` taken at ``at`` (energies × CT × PT)."""
    mult = target.ct_ratio * target.pt_ratio
    register = q_energy(r.register)

    def real(v: Decimal | None) -> Decimal | None:
        return None if v is None else q_energy(v * mult)

    tou = r.tou or (None, None, None, None)
    return MeterReading(
        meter_id=target.meter_id,
        read_at=at,
        register=register,
        energy=q_energy(register * mult),
        sharp=real(tou[0]),
        peak=real(tou[1]),
        flat=real(tou[2]),
        valley=real(tou[3]),
        balance=None if r.balance is None else q_money(r.balance),
        source=source,
    )


def _relay_state(relay_open: bool | None) -> str:
    if relay_open is None:
        return RelayState.UNKNOWN
    return RelayState.OPEN if relay_open else RelayState.CLOSED


#: status flags that become events when they switch on
_FLAG_EVENTS = ("tamper", "alarm", "low_credit", "credit_exhausted")


def _status_events(link: MeterLink, status: dict[str, Any], now: datetime) -> list[MeterEvent]:
    old = link.status_word or {}
    return [
        MeterEvent(meter_id=link.meter_id, at=now, kind=flag, detail={"status": status})
        for flag in _FLAG_EVENTS
        if status.get(flag) and not old.get(flag)
    ]


def _describe(r: Reading) -> dict[str, Any]:
    return {
        "register": str(r.register),
        "balance": None if r.balance is None else str(r.balance),
        "relay_open": r.relay_open,
        "alarm": r.alarm,
        "keep_power": r.keep_power,
        "purchase_count": r.purchase_count,
    }


def _relay_plan(kind: str) -> Any:
    def plan(params: dict[str, Any]) -> tuple[RelayOp, Any]:
        if kind == CommandKind.TRIP:
            return RelayOp.TRIP, lambda r: r.relay_open is True
        if kind == CommandKind.CLOSE:
            return RelayOp.CLOSE, lambda r: r.relay_open is False
        if kind == CommandKind.CLOSE_ALLOWED:
            return RelayOp.CLOSE_ALLOWED, None
        if kind == CommandKind.ALARM:
            on = params.get("on", True)
            return (RelayOp.ALARM if on else RelayOp.ALARM_RELEASE), lambda r: r.alarm is on
        if kind == CommandKind.KEEP_POWER:
            return RelayOp.KEEP_POWER, lambda r: r.keep_power is True
        if kind == CommandKind.KEEP_POWER_OFF:
            return RelayOp.KEEP_POWER_RELEASE, lambda r: r.keep_power is False
        raise DriverError("unsupported", f"unknown command {kind}")

    return plan


_RELAY = {k: _relay_plan(k) for k in CommandKind.values}


def poll_once(
    meters: Iterable[Meter] | None = None, *, poller: Poller | None = None, **options: Any
) -> PollSummary:
    """One synchronous cycle. With ``poller`` use that (open) poller; otherwise open one just for it."""
    if poller is not None:
        return poller.cycle(meters)
    with Poller(**options) as p:
        return p.cycle(meters)
