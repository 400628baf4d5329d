"""What the platform knows from talking to meters: link state, readings, commands and events.

Shared by the poller (issue 5), remote fee control billing (issue 6) and the dashboards (issue 7).
Readings are stored both as the raw register value (meter units) and as real energy (register ×
CT × PT), so billing never has to remember the multiplier that was in force when the reading was taken.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from prepay.common.fields import EnergyField, MoneyField
from prepay.tenancy.models import ScopedManager


class RelayState(models.TextChoices):
    UNKNOWN = "unknown", _("Unknown")
    CLOSED = "closed", _("Closed (supply on)")
    OPEN = "open", _("Open (supply cut)")


class MeterLink(models.Model):
    """One per networked meter: when it is next due, whether it answers, what its relay is doing.

    The poller claims due links atomically (``claimed_until``/``claimed_by``) so several pollers can
    run side by side without polling one meter twice.
    """

    meter = models.OneToOneField(
        "meters.Meter", on_delete=models.CASCADE, related_name="link", verbose_name=_("meter")
    )
    poll_interval = models.PositiveIntegerField(_("poll interval (s)"), default=900)
    next_poll_at = models.DateTimeField(_("next poll"), db_index=True)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    claimed_by = models.CharField(_("claimed by"), max_length=64, blank=True)
    online = models.BooleanField(_("online"), default=False)
    fail_count = models.PositiveIntegerField(_("consecutive failures"), default=0)
    last_seen_at = models.DateTimeField(_("last answered"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=200, blank=True)
    relay_state = models.CharField(
        _("relay"), max_length=8, choices=RelayState.choices, default=RelayState.UNKNOWN
    )
    status_word = models.JSONField(_("status"), default=dict, blank=True)

    objects = ScopedManager()
    scope_group = "meter__group"
    scope_site: str | None = "meter__site"

    class Meta:
        verbose_name = _("meter link")
        verbose_name_plural = _("meter links")

    def __str__(self) -> str:
        return str(self.meter)


class ChannelClaim(models.Model):
    """A way to several meters that takes one master at a time — a gateway or serial server
    (``tcp:<host>:<port>``), a DTU that dials in (``dtu:<id>``) — held by the poller that polls the
    meters behind it (see :func:`prepay.meters.drivers.registry.channel_of`). Rows are made when a
    poller first meets the channel and never deleted; a claim is ``claimed_until``/``claimed_by``,
    like a :class:`MeterLink`'s, and runs out with the poller's lease."""

    key = models.CharField(_("meter channel"), max_length=160, unique=True)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    claimed_by = models.CharField(_("claimed by"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("meter channel")
        verbose_name_plural = _("meter channels")

    def __str__(self) -> str:
        return self.key


class ReadingSource(models.TextChoices):
    POLL = "poll", _("Polled")
    PUSH = "push", _("Pushed by the meter")
    MANUAL = "manual", _("Entered by hand")
    IMPORT = "import", _("Imported")


class MeterReading(models.Model):
    """A register reading. ``register`` is what the meter shows; ``energy`` = register × multiplier.

    TOU registers (sharp/peak/flat/valley) are optional; ``balance`` is the credit the meter itself
    holds (local fee control), in money or meter units as the model reports it.
    """

    meter = models.ForeignKey(
        "meters.Meter", on_delete=models.PROTECT, related_name="readings", verbose_name=_("meter")
    )
    read_at = models.DateTimeField(_("read at"))
    register = EnergyField(_("register"))
    energy = EnergyField(_("energy"))
    sharp = EnergyField(_("sharp"), null=True, blank=True)
    peak = EnergyField(_("peak"), null=True, blank=True)
    flat = EnergyField(_("flat"), null=True, blank=True)
    valley = EnergyField(_("valley"), null=True, blank=True)
    balance = MoneyField(_("meter balance"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=8, choices=ReadingSource.choices, default="poll")

    objects = ScopedManager()
    scope_group = "meter__group"
    scope_site: str | None = "meter__site"

    class Meta:
        verbose_name = _("meter reading")
        verbose_name_plural = _("meter readings")
        ordering = ["meter", "read_at"]
        constraints = [
            models.UniqueConstraint(fields=["meter", "read_at"], name="reading_unique_per_meter_time")
        ]

    def __str__(self) -> str:
        return f"{self.meter} {self.read_at:%Y-%m-%d %H:%M} {self.register}"


class CommandKind(models.TextChoices):
    CREDIT = "credit", _("Push credit")
    TRIP = "trip", _("Trip (cut supply)")
    CLOSE = "close", _("Close (restore supply)")
    CLOSE_ALLOWED = "close_allowed", _("Allow close")
    ALARM = "alarm", _("Alarm")
    KEEP_POWER = "keep_power", _("Protected supply")
    KEEP_POWER_OFF = "keep_power_off", _("End protected supply")
    SYNC_CLOCK = "sync_clock", _("Synchronise clock")


class CommandStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent, awaiting confirmation")
    CONFIRMED = "confirmed", _("Confirmed")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class MeterCommand(models.Model):
    """A command queued for a networked meter, executed by the poller and confirmed by read-back.

    ``idempotency_key`` makes queueing safe to repeat (a vend's remote credit is queued with the
    vend's key). ``params`` carries e.g. ``{"amount": "12.5"}`` (kWh or m³ in register units, as a
    string) for credit. A command that fails is retried with exponential backoff
    (:mod:`prepay.telemetry.retry`); ``alerted_at`` records when the site's clerks were told that a
    supply restore was overdue (:func:`prepay.telemetry.actions.alert_overdue_commands`).
    """

    meter = models.ForeignKey(
        "meters.Meter", on_delete=models.PROTECT, related_name="commands", verbose_name=_("meter")
    )
    kind = models.CharField(_("command"), max_length=16, choices=CommandKind.choices)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=CommandStatus.choices, default=CommandStatus.QUEUED
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), db_index=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    error = models.CharField(_("error"), max_length=200, blank=True)
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=80, null=True, blank=True, unique=True
    )
    created_at = models.DateTimeField(_("queued at"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    alerted_at = models.DateTimeField(_("staff told at"), null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )

    objects = ScopedManager()
    scope_group = "meter__group"
    scope_site: str | None = "meter__site"

    class Meta:
        verbose_name = _("meter command")
        verbose_name_plural = _("meter commands")
        ordering = ["-created_at"]
        # unfinished and failed commands are looked up by status (dashboard, account banner, watchdog)
        indexes = [models.Index(fields=["status", "created_at"], name="meter_command_status_idx")]

    def __str__(self) -> str:
        return f"{self.meter} {self.kind} {self.status}"


class WireEventKind(models.TextChoices):
    """Security events of the DTU listener, recorded as meter events of every meter behind the DTU."""

    DTU_CLAIM_REFUSED = "dtu_claim_refused", _("Second connection for a DTU refused")
    DTU_TAKEOVER = "dtu_takeover", _("DTU connection taken over")


class MeterEvent(models.Model):
    """Something a meter did or that happened to it: offline/online, relay change, tamper, alarm."""

    meter = models.ForeignKey(
        "meters.Meter", on_delete=models.PROTECT, related_name="events", verbose_name=_("meter")
    )
    at = models.DateTimeField(_("time"), db_index=True)
    kind = models.CharField(_("event"), max_length=32)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    objects = ScopedManager()
    scope_group = "meter__group"
    scope_site: str | None = "meter__site"

    class Meta:
        verbose_name = _("meter event")
        verbose_name_plural = _("meter events")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.meter} {self.kind}"
