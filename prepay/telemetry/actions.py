"""Writes of the telemetry app: queue a remote command, and the poller's own bookkeeping.

Other apps use exactly two entry points:

* :func:`do_queue_command` — queue a remote command (credit, trip, close, …) for a networked meter.
  Billing (remote fee control) calls it with ``actor=None``; vending and staff screens call it with
  the user who asked. The poller executes the command on the meter's next cycle, confirms it by
  reading the meter back, retries, and audits the outcome with the requester as actor.
* :func:`poll_once` — run one synchronous poll cycle (tests, billing end-to-end tests, one-shot CLI).

Everything else here (claiming links, storing readings, marking meters offline, finishing commands) is
called by :mod:`prepay.telemetry.poller` only, except :func:`alert_overdue_commands`, which the
billing daemon runs each pass. A command that fails is retried with exponential backoff
(:mod:`prepay.telemetry.retry`); one that fails for good, and a supply restore still unconfirmed
after ``PREPAY_COMMAND_OVERDUE_AFTER``, is told to the site's clerks (:mod:`prepay.telemetry.problems`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prepay.audit.actions import record_event, snapshot
from prepay.common.actions import locked
from prepay.common.errors import ActionError
from prepay.meters.choices import MeterStatus
from prepay.meters.models import Meter
from prepay.telemetry import problems
from prepay.telemetry.models import (
    CommandKind,
    CommandStatus,
    MeterCommand,
    MeterEvent,
    MeterLink,
    WireEventKind,
)
from prepay.telemetry.retry import RetryPolicy, overdue_after
from prepay.tenancy.scoping import require, require_any

if TYPE_CHECKING:
    from collections.abc import Iterable

    from prepay.meters.drivers.dialin import WireEvent
    from prepay.telemetry.poller import PollSummary

#: command kinds that drive the relay (or a water meter's valve)
RELAY_KINDS = frozenset(
    {
        CommandKind.TRIP,
        CommandKind.CLOSE,
        CommandKind.CLOSE_ALLOWED,
        CommandKind.ALARM,
        CommandKind.KEEP_POWER,
        CommandKind.KEEP_POWER_OFF,
    }
)

#: the largest credit one command may push, in register units (STS's limit for one token)
MAX_CREDIT = Decimal("1820162.4")

#: the capability a staff member needs to queue each kind (actor=None: system callers such as billing)
CAPABILITY = {
    CommandKind.CREDIT: "vend.sell",
    CommandKind.TRIP: "account.lifecycle",
    CommandKind.CLOSE: "account.lifecycle",
    CommandKind.CLOSE_ALLOWED: "account.lifecycle",
    CommandKind.ALARM: "account.lifecycle",
    CommandKind.KEEP_POWER: "account.lifecycle",
    CommandKind.KEEP_POWER_OFF: "account.lifecycle",
    CommandKind.SYNC_CLOCK: "meter.stock",
}


def _require_for(actor: Any, kind: str, meter: Meter) -> None:
    """Staff need the kind's capability on the meter's site; ``actor=None`` is the system itself."""
    if actor is None:
        return
    capability = CAPABILITY[CommandKind(kind)]
    # clerks move credit too (credit carried over at 换表), as for STS tokens
    extra = ("account.lifecycle",) if kind == CommandKind.CREDIT else ()
    require_any(actor, (capability, *extra), group_id=meter.group_id, site_id=meter.site_id)


def _clean_params(kind: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """Validate and normalise ``params`` (JSON-ready; Decimals as strings)."""
    params = dict(params or {})
    if kind == CommandKind.CREDIT:
        raw = params.get("amount")
        if isinstance(raw, bool) or not isinstance(raw, (str, int, Decimal)):
            raise ActionError(
                "invalid_amount", _('A credit command needs an amount (register units, e.g. "12.5").')
            )
        try:
            amount = Decimal(str(raw))
        except InvalidOperation:
            raise ActionError("invalid_amount", _("The amount must be a number.")) from None
        if not amount.is_finite() or amount <= 0 or amount > MAX_CREDIT:
            raise ActionError(
                "invalid_amount",
                _("The amount must be above 0 and at most %(max)s.") % {"max": MAX_CREDIT},
            )
        if amount != amount.quantize(Decimal("0.01")):
            raise ActionError("invalid_amount", _("The amount may have at most two decimal places."))
        params["amount"] = str(amount.quantize(Decimal("0.01")))
    elif kind == CommandKind.ALARM:
        on = params.get("on", True)
        if not isinstance(on, bool):
            raise ActionError("invalid", _("The alarm parameter 'on' must be true or false."))
        params["on"] = on
    return params


@transaction.atomic
def do_queue_command(
    meter: Meter,
    kind: str,
    *,
    actor: Any,
    reason: str,
    params: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> MeterCommand:
    """Queue a remote command for ``meter``; the poller executes and confirms it. Returns the command.

    * ``kind``: a :class:`~prepay.telemetry.models.CommandKind` value.
    * ``params``: ``{"amount": "12.5"}`` (register units, at most 2 places) for ``credit``;
      ``{"on": false}`` releases an ``alarm``; other kinds take none.
    * ``actor``: the user who asked (audited, stored as ``requested_by``), or ``None`` for system
      callers (billing's remote fee control). Staff need ``vend.sell`` or ``account.lifecycle`` for
      credit, ``account.lifecycle`` for relay commands and ``meter.stock`` for clock sync.
    * ``idempotency_key``: repeating a call with the same key returns the command queued the first
      time and changes nothing; the same key for another meter or kind is refused
      (``idempotency_conflict``).

    Refusals (nothing changes): ``unknown_command``, ``reason_required``, ``invalid_amount``,
    ``invalid``, ``no_relay`` (relay commands on a model without relay/valve), ``meter_unusable``
    (faulty or retired meter), ``forbidden``.

    A meter without a protocol may be queued for (the command waits until the meter is networked);
    a command the meter's driver cannot perform fails on execution with the reason recorded.
    """
    if kind not in CommandKind.values:
        raise ActionError("unknown_command", _("Unknown meter command %(k)s.") % {"k": kind})
    meter = locked(Meter, meter.pk)
    _require_for(actor, kind, meter)
    if idempotency_key:
        existing = MeterCommand.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.meter_id != meter.pk or existing.kind != kind:
                raise ActionError(
                    "idempotency_conflict",
                    _("This request key was already used for another command."),
                )
            return existing
    reason = (reason or "").strip()
    if not reason:
        raise ActionError("reason_required", _("Say why the command is sent."))
    if meter.status in (MeterStatus.FAULTY, MeterStatus.RETIRED):
        raise ActionError(
            "meter_unusable",
            _("Meter %(m)s is %(s)s.") % {"m": meter.serial, "s": MeterStatus(meter.status).label},
        )
    if kind in RELAY_KINDS and not meter.model.has_relay:
        raise ActionError("no_relay", _("Meter %(m)s has no relay or valve.") % {"m": meter.serial})
    clean = _clean_params(kind, params)
    now = timezone.now()
    cmd = MeterCommand(
        meter=meter,
        kind=kind,
        params=clean,
        reason=reason[:200],
        next_attempt_at=now,
        idempotency_key=idempotency_key or None,
        requested_by=actor if getattr(actor, "pk", None) else None,
    )
    try:
        with transaction.atomic():
            cmd.save()
    except IntegrityError:
        # a concurrent call with the same key won the race: behave as a repeat
        existing = MeterCommand.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None or existing.meter_id != meter.pk or existing.kind != kind:
            raise ActionError(
                "idempotency_conflict", _("This request key was already used for another command.")
            ) from None
        return existing
    # Bring the meter forward so the next poll cycle runs the command without waiting its interval.
    MeterLink.objects.filter(meter=meter, next_poll_at__gt=now).update(next_poll_at=now)
    record_event(
        actor=actor,
        verb="meter.command.queue",
        obj=cmd,
        object_repr=f"{meter.serial} {kind}",
        group_id=meter.group_id,
        site_id=meter.site_id,
        after=snapshot(cmd) | {"meter": meter.serial},
    )
    return cmd


def finish_command(
    cmd: MeterCommand,
    *,
    confirmed: bool,
    result: dict[str, Any] | None = None,
    error: str = "",
    final: bool = False,
    policy: RetryPolicy | None = None,
) -> MeterCommand:
    """Record one execution attempt of ``cmd`` (poller only), audited with the requester as actor.

    ``confirmed``: the meter's read-back shows the command took effect → ``confirmed``. Otherwise the
    command goes back to ``queued``, to be tried again after ``policy.delay(attempts)`` (exponential
    backoff with a cap; default :meth:`RetryPolicy.from_settings`), until ``policy.max_attempts``
    attempts were made; then — or at once when ``final`` (retrying cannot help: the meter cannot do
    it, or its configuration is wrong) — it is ``failed``, and the site's clerks are told
    (notification ``command_failed``) in the same transaction.
    """
    policy = policy or RetryPolicy.from_settings()
    with transaction.atomic():
        cmd = locked(MeterCommand, cmd.pk)
        if cmd.status not in (CommandStatus.QUEUED, CommandStatus.SENT):
            return cmd  # finished by someone else meanwhile (cancelled, another poller)
        now = timezone.now()
        cmd.attempts += 1
        cmd.result = result or {}
        cmd.error = error[:200]
        if confirmed:
            cmd.status = CommandStatus.CONFIRMED
            cmd.completed_at = now
            verb = "meter.command.confirm"
        elif not final and cmd.attempts < policy.max_attempts:
            cmd.status = CommandStatus.QUEUED
            cmd.next_attempt_at = now + policy.delay(cmd.attempts)
            verb = "meter.command.retry"
        else:
            cmd.status = CommandStatus.FAILED
            cmd.completed_at = now
            cmd.alerted_at = now
            verb = "meter.command.fail"
        fields = ["attempts", "result", "error", "status", "next_attempt_at", "completed_at", "alerted_at"]
        cmd.save(update_fields=fields)
        meter = cmd.meter
        record_event(
            actor=cmd.requested_by,
            verb=verb,
            obj=cmd,
            object_repr=f"{meter.serial} {cmd.kind}",
            group_id=meter.group_id,
            site_id=meter.site_id,
            after={
                "meter": meter.serial,
                "kind": cmd.kind,
                "params": cmd.params,
                "status": cmd.status,
                "attempts": cmd.attempts,
                "error": cmd.error,
                "next_attempt_at": cmd.next_attempt_at.isoformat() if verb.endswith("retry") else None,
                "requested_by": cmd.requested_by.get_username() if cmd.requested_by else "system",
                "reason": cmd.reason,
            },
        )
        if cmd.status == CommandStatus.FAILED:
            _tell_clerks(cmd, "command_failed", f"cmd:{cmd.pk}:failed")
        return cmd


def _tell_clerks(cmd: MeterCommand, key: str, idempotency_key: str) -> None:
    """Queue a staff notification about ``cmd`` to the clerks of its meter's site (caller's transaction)."""
    from prepay.notify.actions import queue_staff_notification

    account = problems.account_of(cmd)
    queue_staff_notification(
        cmd.meter.site,
        key,
        problems.notification_context(cmd, account),
        idempotency_key=idempotency_key,
        account=account,
    )


def alert_overdue_commands(now: datetime | None = None, *, limit: int = 500) -> int:
    """Tell the site's clerks about each supply restore (close) not confirmed ``overdue_after()``
    (``PREPAY_COMMAND_OVERDUE_AFTER``, 10 min) after it was queued — a customer who paid must never
    stay cut off without someone knowing — even while the command is still retrying. Once per
    command (``alerted_at``; notification ``restore_overdue``), audited ``meter.command.overdue``.
    Run by the billing daemon each pass; returns how many commands were told about.
    """
    now = now or timezone.now()
    due = MeterCommand.objects.filter(
        status__in=problems.PENDING,
        kind__in=problems.RESTORES,
        alerted_at__isnull=True,
        created_at__lte=now - overdue_after(),
    ).order_by("created_at", "pk")
    told = 0
    for pk in list(due.values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            cmd = locked(MeterCommand, pk)
            if cmd.alerted_at is not None or cmd.status not in problems.PENDING:
                continue
            cmd.alerted_at = now
            cmd.save(update_fields=["alerted_at"])
            _tell_clerks(cmd, "restore_overdue", f"cmd:{cmd.pk}:overdue")
            meter = cmd.meter
            record_event(
                actor=None,
                verb="meter.command.overdue",
                obj=cmd,
                object_repr=f"{meter.serial} {cmd.kind}",
                group_id=meter.group_id,
                site_id=meter.site_id,
                after={
                    "meter": meter.serial,
                    "kind": cmd.kind,
                    "queued_at": cmd.created_at.isoformat(),
                    "attempts": cmd.attempts,
                    "error": cmd.error,
                    "reason": cmd.reason,
                },
            )
            told += 1
    return told


def hold_command(cmd: MeterCommand, *, error: str, retry_in: timedelta) -> MeterCommand:
    """Put a command back in the queue without counting an attempt (poller only), audited.

    For a command that was not sent at all because the connection carrying the meter holds its
    DTU id under dispute (``DriverError("disputed")``): it waits ``retry_in`` and is tried again,
    as long as the dispute lasts; staff may cancel it meanwhile.
    """
    with transaction.atomic():
        cmd = locked(MeterCommand, cmd.pk)
        if cmd.status not in (CommandStatus.QUEUED, CommandStatus.SENT):
            return cmd
        cmd.status = CommandStatus.QUEUED
        cmd.next_attempt_at = timezone.now() + retry_in
        cmd.error = error[:200]
        cmd.save(update_fields=["status", "next_attempt_at", "error"])
        meter = cmd.meter
        record_event(
            actor=cmd.requested_by,
            verb="meter.command.hold",
            obj=cmd,
            object_repr=f"{meter.serial} {cmd.kind}",
            group_id=meter.group_id,
            site_id=meter.site_id,
            after={"meter": meter.serial, "kind": cmd.kind, "error": cmd.error, "attempts": cmd.attempts},
        )
        return cmd


def _wire_message(event: WireEvent) -> str:
    """The sentence staff read for a listener security event (in the active language)."""
    values = {"dtu": event.dtu, "peer": event.peer, "owner": event.owner, "s": event.silent}
    if event.kind == WireEventKind.DTU_CLAIM_REFUSED:
        return (
            _(
                "A connection from %(peer)s registered as DTU %(dtu)s while the live connection from "
                "%(owner)s held it; it was refused and closed."
            )
            % values
        )
    if event.holder_state == "closed":
        return (
            _(
                "A connection from %(peer)s took DTU %(dtu)s over from the closed connection from "
                "%(owner)s; commands wait until the claim has gone uncontested."
            )
            % values
        )
    return (
        _(
            "A connection from %(peer)s took DTU %(dtu)s over from the connection from %(owner)s, "
            "silent for %(s)s s; commands wait until the claim has gone uncontested."
        )
        % values
    )


def record_wire_events(events: Iterable[WireEvent]) -> int:
    """Write the DTU listener's security events (poller only); returns the meter events written.

    Each event becomes a :class:`MeterEvent` (kind ``dtu_claim_refused`` / ``dtu_takeover``) on every
    meter whose ``comm_params["dtu"]`` is the DTU, and one audit event per site of those meters
    (``meter.dtu_claim_refused`` / ``meter.dtu_takeover``, actor: the system). An event for a DTU
    no meter uses is not written (the listener logged it).
    """
    written = 0
    for event in events:
        meters = list(Meter.objects.filter(comm_params__dtu=event.dtu).order_by("pk"))
        if not meters:
            continue
        detail = {
            "dtu": event.dtu,
            "peer": event.peer,
            "holder": event.owner,
            "holder_state": event.holder_state,
            "silent_s": event.silent,
            "repeats": event.repeats,
            "message": _wire_message(event),
        }
        sites: dict[tuple[int, int | None], list[str]] = {}
        for m in meters:
            sites.setdefault((m.group_id, m.site_id), []).append(m.serial)
        with transaction.atomic():
            MeterEvent.objects.bulk_create(
                [MeterEvent(meter=m, at=event.at, kind=event.kind, detail=detail) for m in meters]
            )
            for (group_id, site_id), serials in sites.items():
                record_event(
                    actor=None,
                    verb=f"meter.{event.kind}",
                    object_type="telemetry.dtu",
                    object_id=event.dtu,
                    object_repr=f"DTU {event.dtu}",
                    group_id=group_id,
                    site_id=site_id,
                    after=detail | {"meters": serials},
                )
        written += len(meters)
    return written


@transaction.atomic
def do_cancel_command(cmd: MeterCommand, *, actor: Any, reason: str) -> MeterCommand:
    """Cancel a command that has not been confirmed or failed yet (``not_pending`` otherwise)."""
    cmd = locked(MeterCommand, cmd.pk)
    meter = cmd.meter
    _require_for(actor, cmd.kind, meter)
    if cmd.status not in (CommandStatus.QUEUED, CommandStatus.SENT):
        raise ActionError("not_pending", _("The command is already %(s)s.") % {"s": cmd.get_status_display()})
    if not (reason or "").strip():
        raise ActionError("reason_required", _("Say why the command is cancelled."))
    cmd.status = CommandStatus.CANCELLED
    cmd.completed_at = timezone.now()
    cmd.error = reason.strip()[:200]
    cmd.save(update_fields=["status", "completed_at", "error"])
    record_event(
        actor=actor,
        verb="meter.command.cancel",
        obj=cmd,
        object_repr=f"{meter.serial} {cmd.kind}",
        group_id=meter.group_id,
        site_id=meter.site_id,
        after={"meter": meter.serial, "kind": cmd.kind, "reason": reason.strip()},
    )
    return cmd


def ensure_link(meter: Meter, *, poll_interval: int = 900, at: datetime | None = None) -> MeterLink:
    """The meter's :class:`MeterLink`, created due now when missing (fleet set-up, registration)."""
    link, _created = MeterLink.objects.get_or_create(
        meter=meter, defaults={"poll_interval": poll_interval, "next_poll_at": at or timezone.now()}
    )
    return link


@transaction.atomic
def do_bind_meter(
    meter: Meter,
    *,
    protocol: str,
    comm_params: dict[str, Any],
    actor: Any,
    poll_interval: int | None = None,
) -> MeterLink:
    """Set how the platform reaches ``meter`` (protocol + comm_params) and make it due for polling.

    Used by ``prepay simulate`` (actor None: the system binding its own virtual meters) and by staff
    holding ``meter.stock``. Refuses an unknown protocol (``invalid_protocol``), non-object params
    (``invalid``) and a poll interval under 5 s (``invalid``).
    """
    from prepay.meters.choices import Protocol

    meter = locked(Meter, meter.pk)
    if actor is not None:
        require(actor, "meter.stock", group_id=meter.group_id, site_id=meter.site_id)
    if protocol not in Protocol.values:
        raise ActionError("invalid_protocol", _("Unknown protocol %(p)s.") % {"p": protocol})
    if not isinstance(comm_params, dict):
        raise ActionError("invalid", _("Communication parameters must be an object."))
    if poll_interval is not None and poll_interval < 5:
        raise ActionError("invalid", _("The poll interval must be at least 5 seconds."))
    before = snapshot(meter, ["protocol", "comm_params"])
    meter.protocol, meter.comm_params = protocol, comm_params
    meter.save(update_fields=["protocol", "comm_params"])
    now = timezone.now()
    link = ensure_link(meter, poll_interval=poll_interval or 900, at=now)
    if poll_interval is not None and link.poll_interval != poll_interval:
        link.poll_interval = poll_interval
        link.next_poll_at = now
        link.save(update_fields=["poll_interval", "next_poll_at"])
    record_event(
        actor=actor,
        verb="meter.bind",
        obj=meter,
        group_id=meter.group_id,
        site_id=meter.site_id,
        before=before,
        after={"protocol": protocol, "comm_params": comm_params, "poll_interval": link.poll_interval},
    )
    return link


def poll_once(meters: Iterable[Meter] | None = None, **options: Any) -> PollSummary:
    """Run one poll cycle synchronously and return its summary (see :func:`poller.poll_once`).

    ``meters``: poll exactly these (due or not); ``None``: every due link. Commands queued for the
    polled meters are executed and confirmed in the same cycle.
    """
    from prepay.telemetry.poller import poll_once as _poll_once

    return _poll_once(meters, **options)
