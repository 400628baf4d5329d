"""Meter models, meters and installations (meter ↔ account ↔ unit over time)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from prepay.common.fields import EnergyField
from prepay.meters.choices import DEFAULT_ALARM_LEVEL, MeterKind, MeterStatus, Protocol, TokenSystem
from prepay.tenancy.models import PropertyGroup, ScopedManager, Site

PROTOCOL_VALUES = {p.value for p in Protocol}


def validate_protocols(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v in PROTOCOL_VALUES for v in value):
        raise ValidationError(
            _("Protocols must be a list drawn from: %(allowed)s"),
            params={"allowed": ", ".join(sorted(PROTOCOL_VALUES))},
        )


class MeterModel(models.Model):
    group = models.ForeignKey(
        PropertyGroup, on_delete=models.PROTECT, related_name="meter_models", verbose_name=_("group")
    )
    code = models.SlugField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=200)
    manufacturer = models.CharField(_("manufacturer"), max_length=100, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=MeterKind.choices)
    token_system = models.CharField(
        _("token system"), max_length=16, choices=TokenSystem.choices, default=TokenSystem.STS
    )
    has_keypad = models.BooleanField(_("STS keypad"), default=True)
    has_ic_card = models.BooleanField(_("IC card"), default=False)
    has_relay = models.BooleanField(_("relay / valve"), default=True)
    protocols = models.JSONField(_("protocols"), default=list, blank=True, validators=[validate_protocols])
    alarm_level = EnergyField(
        _("low-credit alarm level"),
        null=True,
        blank=True,
        help_text=_("kWh or m³; empty: 12 kWh single-phase, 36 kWh three-phase, 2 m³ water."),
    )
    history = HistoricalRecords()

    objects = ScopedManager()
    scope_group = "group"
    scope_site: str | None = None

    class Meta:
        verbose_name = _("meter model")
        verbose_name_plural = _("meter models")
        ordering = ["group", "code"]
        constraints = [models.UniqueConstraint(fields=["group", "code"], name="meter_model_code_unique")]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_alarm_level(self) -> Decimal:
        if self.alarm_level is not None:
            return Decimal(self.alarm_level)
        return DEFAULT_ALARM_LEVEL[MeterKind(self.kind)]


digits = RegexValidator(r"^\d+$", _("Digits only."))


class Meter(models.Model):
    group = models.ForeignKey(
        PropertyGroup, on_delete=models.PROTECT, related_name="meters", verbose_name=_("group")
    )
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="meters", verbose_name=_("site"))
    serial = models.CharField(_("serial number"), max_length=32)
    model = models.ForeignKey(
        MeterModel, on_delete=models.PROTECT, related_name="meters", verbose_name=_("meter model")
    )
    status = models.CharField(
        _("status"), max_length=16, choices=MeterStatus.choices, default=MeterStatus.IN_STOCK
    )
    ct_ratio = models.PositiveIntegerField(_("CT ratio"), default=1, validators=[MinValueValidator(1)])
    pt_ratio = models.PositiveIntegerField(_("PT ratio"), default=1, validators=[MinValueValidator(1)])
    # STS parameters (IEC 62055-41); the decoder reference number is the meter's DRN / IAIN.
    drn = models.CharField(_("decoder reference number"), max_length=13, blank=True, validators=[digits])
    supply_group_code = models.CharField(
        _("supply group code"), max_length=6, blank=True, validators=[digits]
    )
    tariff_index = models.CharField(_("tariff index"), max_length=2, blank=True, validators=[digits])
    key_revision = models.PositiveSmallIntegerField(
        _("key revision"), default=1, validators=[MinValueValidator(1), MaxValueValidator(9)]
    )
    key_type = models.PositiveSmallIntegerField(_("key type"), default=2, validators=[MaxValueValidator(3)])
    encryption_algorithm = models.CharField(
        _("encryption algorithm"),
        max_length=2,
        default="07",
        choices=[("07", "EA07 (STA)"), ("09", "EA09 (DEA)")],
    )
    base_date = models.PositiveSmallIntegerField(
        # 1993-based TIDs ran out in November 2024 (2**24 minutes): new meters start on 2014.
        _("base date"),
        default=2014,
        choices=[(1993, "1993"), (2014, "2014"), (2035, "2035")],
    )
    # Communication: protocol and its parameters (address, host, port, unit id, topic …).
    protocol = models.CharField(_("protocol"), max_length=16, choices=Protocol.choices, blank=True)
    comm_params = models.JSONField(_("communication parameters"), default=dict, blank=True)
    history = HistoricalRecords()

    objects = ScopedManager()
    scope_group = "group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("meter")
        verbose_name_plural = _("meters")
        ordering = ["serial"]
        constraints = [
            models.UniqueConstraint(fields=["group", "serial"], name="meter_serial_unique_in_group"),
            models.CheckConstraint(
                condition=Q(ct_ratio__gte=1) & Q(pt_ratio__gte=1), name="meter_ratios_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.serial

    @property
    def multiplier(self) -> int:
        """CT ratio × PT ratio: register units × multiplier = real energy."""
        return self.ct_ratio * self.pt_ratio


class Installation(models.Model):
    """A meter serving an account at a unit from ``started_at`` until ``ended_at``."""

    meter = models.ForeignKey(
        Meter, on_delete=models.PROTECT, related_name="installations", verbose_name=_("meter")
    )
    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="installations", verbose_name=_("account")
    )
    unit = models.ForeignKey(
        "customers.Unit", on_delete=models.PROTECT, related_name="installations", verbose_name=_("unit")
    )
    started_at = models.DateTimeField(_("installed at"))
    ended_at = models.DateTimeField(_("removed at"), null=True, blank=True)
    opening_reading = EnergyField(_("opening reading"))
    closing_reading = EnergyField(_("closing reading"), null=True, blank=True)
    credit_carried_in = EnergyField(
        _("credit carried in"),
        default=Decimal("0"),
        help_text=_("Credit moved onto this meter from the one it replaced."),
    )
    credit_left = EnergyField(_("credit left on removal"), null=True, blank=True)
    end_reason = models.CharField(_("reason for removal"), max_length=200, blank=True)

    objects = ScopedManager()
    scope_group = "account__site__group"
    scope_site: str | None = "account__site"

    class Meta:
        verbose_name = _("installation")
        verbose_name_plural = _("installations")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["meter"], condition=Q(ended_at__isnull=True), name="one_active_installation_per_meter"
            ),
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(ended_at__isnull=True),
                name="one_active_installation_per_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.meter} @ {self.account}"
