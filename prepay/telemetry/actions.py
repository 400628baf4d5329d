"""Writes of the telemetry app: queue a remote command, and the poller's own bookkeeping (kept in
:mod:`prepay.telemetry.bookkeeping`, which the poller imports; its names are re-exported here).

Other apps use exactly two entry points:

* :func:`do_queue_command` — queue a remote command (credit, trip, close, …) for a networked meter.
  Billing (remote fee control) calls it with ``actor=None``; vending and staff screens call it with
  the user who asked. The poller executes the command on the meter's next cycle, confirms it by
  reading the meter back, retries, and audits the outcome with the requester as actor.
* :func:`poll_once` — run one synchronous poll cycle (tests, billing end-to-end tests, one-shot CLI).

Everything else (claiming links, storing readings, marking meters offline, finishing commands) is
called by :mod:`prepay.telemetry.poller` only, except :func:`alert_overdue_commands`, which the
billing daemon runs each pass. A command that fails is retried with exponential backoff
(:mod:`prepay.telemetry.retry`); one that fails for good, and a supply restore still unconfirmed
after ``PREPAY_COMMAND_OVERDUE_AFTER``, is told to the site's clerks (:mod:`prepay.telemetry.problems`).
"""

from __future__ import annotations

from datetime import datetime
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
from prepay.telemetry.bookkeeping import audit_command, ensure_link, tell_clerks
from prepay.telemetry.bookkeeping import finish_command as finish_command  # re-exported
from prepay.telemetry.bookkeeping import hold_command as hold_command  # re-exported
from prepay.telemetry.bookkeeping import record_wire_events as record_wire_events  # re-exported
from prepay.telemetry.models import (
    CommandKind,
    CommandStatus,
    MeterCommand,
    MeterLink,
)
from prepay.telemetry.retry import overdue_after
from prepay.tenancy.scoping import require, require_any

if TYPE_CHECKING:
    from collections.abc import Iterable

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
    if idempotency_key and (existing := _queued_before(idempotency_key, meter, kind)) is not None:
        return existing
    reason = (reason or "").strip()
    if not reason:
        raise ActionError("reason_required", _("Say why the command is sent."))
    _check_meter_takes(meter, kind)
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
    saved = _save_or_repeat(cmd, idempotency_key)
    if saved is not cmd:
        return saved
    # Bring the meter forward so the next poll cycle runs the command without waiting its interval.
    MeterLink.objects.filter(meter=meter, next_poll_at__gt=now).update(next_poll_at=now)
    _audit_queued(cmd, actor)
    return cmd


def _key_conflict() -> ActionError:
    """The refusal of an idempotency key already used for another meter or kind."""
    return ActionError("idempotency_conflict", _("This request key was already used for another command."))


def _queued_before(idempotency_key: str, meter: Meter, kind: str) -> MeterCommand | None:
    """The command a call with this key already queued (None: the key is new); refused
    (``idempotency_conflict``) when that command is for another meter or kind."""
    existing = MeterCommand.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None and (existing.meter_id != meter.pk or existing.kind != kind):
        raise _key_conflict()
    return existing


def _audit_queued(cmd: MeterCommand, actor: Any) -> None:
    """Audit a newly queued command (``meter.command.queue``) with the person who asked."""
    audit_command(cmd, "meter.command.queue", actor=actor, after=snapshot(cmd) | {"meter": cmd.meter.serial})


def _check_meter_takes(meter: Meter, kind: str) -> None:
    """Refuse a faulty or retired meter (``meter_unusable``), and a relay command for a meter
    without relay or valve (``no_relay``)."""
    if meter.status in (MeterStatus.FAULTY, MeterStatus.RETIRED):
        raise ActionError(
            "meter_unusable",
            _("Meter %(m)s is %(s)s.") % {"m": meter.serial, "s": MeterStatus(meter.status).label},
        )
    if kind in RELAY_KINDS and not meter.model.has_relay:
        raise ActionError("no_relay", _("Meter %(m)s has no relay or valve.") % {"m": meter.serial})


def _save_or_repeat(cmd: MeterCommand, idempotency_key: str | None) -> MeterCommand:
    """Save the new ``cmd``; when a concurrent call with the same key saved first, that command
    (a repeat), or ``idempotency_conflict`` when it is for another meter or kind."""
    try:
        with transaction.atomic():
            cmd.save()
    except IntegrityError:
        # a concurrent call with the same key won the race: behave as a repeat
        existing = MeterCommand.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None or existing.meter_id != cmd.meter_id or existing.kind != cmd.kind:
            raise _key_conflict() from None
        return existing
    return cmd


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
            tell_clerks(cmd, "restore_overdue", f"cmd:{cmd.pk}:overdue")
            audit_command(
                cmd,
                "meter.command.overdue",
                actor=None,
                after={
                    "meter": cmd.meter.serial,
                    "kind": cmd.kind,
                    "queued_at": cmd.created_at.isoformat(),
                    "attempts": cmd.attempts,
                    "error": cmd.error,
                    "reason": cmd.reason,
                },
            )
            told += 1
    return told


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
