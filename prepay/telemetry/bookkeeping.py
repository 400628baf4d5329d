"""The poller's own writes (:mod:`prepay.telemetry.poller`): a meter's link, the outcome of each
command attempt, commands held back, and the DTU listener's security events. Kept apart from
:mod:`prepay.telemetry.actions` (which runs the poller for :func:`~prepay.telemetry.actions.poll_once`)
so that the poller and the actions do not import each other.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prepay.audit.actions import record_event
from prepay.common.actions import locked
from prepay.meters.models import Meter
from prepay.telemetry import problems
from prepay.telemetry.models import CommandStatus, MeterCommand, MeterEvent, MeterLink, WireEventKind
from prepay.telemetry.retry import RetryPolicy

if TYPE_CHECKING:
    from collections.abc import Iterable

    from prepay.meters.drivers.dialin import WireEvent


def ensure_link(meter: Meter, *, poll_interval: int = 900, at: datetime | None = None) -> MeterLink:
    """The meter's :class:`MeterLink`, created due now when missing (fleet set-up, registration)."""
    link, _created = MeterLink.objects.get_or_create(
        meter=meter, defaults={"poll_interval": poll_interval, "next_poll_at": at or timezone.now()}
    )
    return link


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
        audit_command(
            cmd,
            verb,
            actor=cmd.requested_by,
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
            tell_clerks(cmd, "command_failed", f"cmd:{cmd.pk}:failed")
        return cmd


def audit_command(cmd: MeterCommand, verb: str, *, actor: Any, after: dict[str, Any]) -> None:
    """Record ``verb`` on a meter command, named by its meter and kind, at the meter's site."""
    meter = cmd.meter
    record_event(
        actor=actor,
        verb=verb,
        obj=cmd,
        object_repr=f"{meter.serial} {cmd.kind}",
        group_id=meter.group_id,
        site_id=meter.site_id,
        after=after,
    )


def tell_clerks(cmd: MeterCommand, key: str, idempotency_key: str) -> None:
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
