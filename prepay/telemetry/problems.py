"""Remote commands that need a person's attention, and how they are described (read-only).

A command is a *problem* when it is

* **retrying**: queued again after a failed attempt (it has an error and at least one attempt);
* **overdue**: not confirmed ``PREPAY_COMMAND_OVERDUE_AFTER`` (10 min) after it was queued, sent or
  not (a meter offline, a poller that does not run, a DTU under dispute);
* **failed**: it gave up, and no later command of the same family for the same meter has been
  queued since (a later close after a failed trip, a new 保电 command after a failed keep-power…:
  the later command now decides, and shows its own problems).

The account page shows its meters' problems as a banner (:func:`for_account`), the dashboard counts
them per site (:func:`for_user`), and :func:`prepay.telemetry.bookkeeping.finish_command` /
:func:`~prepay.telemetry.actions.alert_overdue_commands` tell the site's clerks with the context
built by :func:`notification_context`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from prepay.meters.choices import MeterStatus
from prepay.meters.models import Installation
from prepay.telemetry.models import CommandKind, CommandStatus, MeterCommand
from prepay.telemetry.retry import RetryPolicy, overdue_after

PENDING = (CommandStatus.QUEUED, CommandStatus.SENT)

#: commands that undo or replace one another on a meter: a later one of the family settles a failure
FAMILIES: tuple[tuple[str, ...], ...] = (
    (CommandKind.TRIP, CommandKind.CLOSE, CommandKind.CLOSE_ALLOWED),
    (CommandKind.ALARM,),
    (CommandKind.KEEP_POWER, CommandKind.KEEP_POWER_OFF),
    (CommandKind.CREDIT,),
    (CommandKind.SYNC_CLOCK,),
)

#: commands that give a customer supply back: overdue ones are told to the clerks at once
RESTORES = (CommandKind.CLOSE, CommandKind.CLOSE_ALLOWED)


def problem_q(now: datetime | None = None) -> Q:
    """The condition of :func:`problems` (see the module docstring)."""
    now = now or timezone.now()
    pending = Q(status__in=PENDING) & (
        (Q(attempts__gt=0) & ~Q(error="")) | Q(created_at__lte=now - overdue_after())
    )
    failed = Q(pk__in=[])
    for kinds in FAMILIES:
        later = MeterCommand.objects.filter(
            meter_id=OuterRef("meter_id"), kind__in=kinds, pk__gt=OuterRef("pk")
        )
        failed |= Q(Q(kind__in=kinds), ~Exists(later))
    return pending | (Q(status=CommandStatus.FAILED) & failed)


def problems(qs: QuerySet[MeterCommand] | None = None, now: datetime | None = None) -> QuerySet[MeterCommand]:
    """Problem commands among ``qs`` (default: all), newest first; retired meters are left out."""
    qs = MeterCommand.objects.all() if qs is None else qs
    return (
        qs.filter(problem_q(now))
        .exclude(meter__status=MeterStatus.RETIRED)
        .select_related("meter__site")
        .order_by("-created_at", "-pk")
    )


def what(kind: str) -> str:
    """What the command does for the customer, in the active language (the banner's subject)."""
    labels = {
        CommandKind.CLOSE: _("Supply restore"),
        CommandKind.CLOSE_ALLOWED: _("Supply restore"),
        CommandKind.TRIP: _("Cut-off"),
        CommandKind.KEEP_POWER: _("Protected supply (keep power)"),
        CommandKind.KEEP_POWER_OFF: _("End of protected supply"),
        CommandKind.ALARM: _("Low-credit alarm"),
        CommandKind.CREDIT: _("Remote credit"),
        CommandKind.SYNC_CLOCK: _("Clock sync"),
    }
    return str(labels.get(CommandKind(kind), kind))


def _local(when: datetime | None) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%d %H:%M") if when else "—"


@dataclass(frozen=True)
class Problem:
    """One problem command as staff see it: ``state`` is ``retrying``, ``overdue`` or ``failed``."""

    command: MeterCommand
    state: str
    message: str


def describe(cmd: MeterCommand, policy: RetryPolicy | None = None) -> Problem:
    """The sentence for the banner and the dashboard, in the active language, e.g. "Supply restore
    failed: timeout: no reply within 2.0s, retrying at 2026-06-12 15:31 (attempt 2 of 10)."."""
    policy = policy or RetryPolicy.from_settings()
    values = {
        "what": what(cmd.kind),
        "error": cmd.error or _("no answer"),
        "n": cmd.attempts,
        "next": cmd.attempts + 1,
        "max": policy.max_attempts,
        "since": _local(cmd.created_at),
    }
    if cmd.status == CommandStatus.FAILED:
        values["when"] = _local(cmd.completed_at)
        text = _("%(what)s failed: %(error)s, gave up at %(when)s after %(n)s attempts.") % values
        return Problem(cmd, "failed", text)
    values["when"] = _local(cmd.next_attempt_at)
    if cmd.attempts and cmd.error:
        text = _("%(what)s failed: %(error)s, retrying at %(when)s (attempt %(next)s of %(max)s).") % values
        return Problem(cmd, "retrying", text)
    text = _("%(what)s queued at %(since)s is not confirmed yet; next attempt at %(when)s.") % values
    return Problem(cmd, "overdue", text)


def for_account(account: Any, now: datetime | None = None) -> list[Problem]:
    """Problems of the meters installed for ``account`` now, queued since they were installed for it."""
    window = Q(pk__in=[])
    for meter_id, started in Installation.objects.filter(account=account, ended_at__isnull=True).values_list(
        "meter_id", "started_at"
    ):
        window |= Q(meter_id=meter_id, created_at__gte=started)
    policy = RetryPolicy.from_settings()
    return [describe(c, policy) for c in problems(MeterCommand.objects.filter(window), now)]


def for_user(user: Any, capability: str, *, limit: int = 20) -> dict[str, Any]:
    """The dashboard panel: problems in the sites where ``user`` holds ``capability`` — the count,
    the count per site, and the newest ``limit`` described."""
    qs = problems(MeterCommand.objects.for_user(user, capability))
    by_site = list(
        qs.order_by().values("meter__site__name").annotate(n=Count("pk")).order_by("meter__site__name")
    )
    policy = RetryPolicy.from_settings()
    return {
        "count": sum(row["n"] for row in by_site),
        "by_site": [{"site": row["meter__site__name"], "count": row["n"]} for row in by_site],
        "items": [describe(c, policy) for c in qs[:limit]],
    }


def account_of(cmd: MeterCommand) -> Any:
    """The account the command's meter is installed for now (None: in stock, or never installed)."""
    inst = (
        Installation.objects.filter(meter_id=cmd.meter_id, ended_at__isnull=True)
        .select_related("account__customer")
        .first()
    )
    return inst.account if inst is not None else None


def _why(reason: str) -> str:
    if reason.startswith("billing:paid"):
        return _("the customer has paid")
    if reason.startswith("billing:protected") or reason.startswith("protected supply"):
        return _("protected supply began")
    if reason == "restore":
        return _("supply was restored at the counter")
    return reason


def notification_context(cmd: MeterCommand, account: Any) -> dict[str, str]:
    """Placeholders of the ``command_failed`` and ``restore_overdue`` texts, in the platform's
    language (``PREPAY_LANGUAGE``: staff notifications are rendered in it)."""
    with translation.override(settings.LANGUAGE_CODE):
        return {
            "meter": cmd.meter.serial,
            "account": account.number if account is not None else "—",
            "customer": account.customer.name if account is not None else "—",
            "what": what(cmd.kind),
            "error": cmd.error or _("no answer"),
            "attempts": str(cmd.attempts),
            "when": _local(cmd.completed_at),
            "since": _local(cmd.created_at),
            "next": _local(cmd.next_attempt_at),
            "why": _why(cmd.reason),
            "last_error": _("; last error: %(e)s") % {"e": cmd.error} if cmd.error else "",
        }
