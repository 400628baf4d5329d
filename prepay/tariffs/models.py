"""Tariffs (电价). The pricing engine is prepay.domain.tariffs; this is the versioned master data."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from prepay.common.fields import ScaledDecimalField
from prepay.customers.choices import Utility
from prepay.tenancy.models import PropertyGroup, ScopedManager, Site


class TariffKind(models.TextChoices):
    FLAT = "flat", _("Flat")
    TIERED = "tiered", _("Tiered / stepped")
    TOU = "tou", _("Time-of-use")


class Tariff(models.Model):
    """A priced tariff version, effective from a date; group-wide when ``site`` is empty.

    ``unit_price`` is the flat price (or the first block's price) per kWh / m³, VAT as configured;
    ``definition`` holds tier blocks or time-of-use periods for the engine.
    """

    group = models.ForeignKey(
        PropertyGroup, on_delete=models.PROTECT, related_name="tariffs", verbose_name=_("group")
    )
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="tariffs", verbose_name=_("site")
    )
    code = models.SlugField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=200)
    utility = models.CharField(
        _("utility"), max_length=16, choices=Utility.choices, default=Utility.ELECTRICITY
    )
    kind = models.CharField(_("kind"), max_length=8, choices=TariffKind.choices, default=TariffKind.FLAT)
    unit_price = ScaledDecimalField(_("unit price"), places=4)
    vat_rate = ScaledDecimalField(_("VAT rate"), places=4, default=Decimal("0"))
    vat_included = models.BooleanField(_("VAT included in price"), default=True)
    definition = models.JSONField(_("blocks / periods"), default=dict, blank=True)
    effective_from = models.DateField(_("effective from"))
    history = HistoricalRecords()

    objects = ScopedManager()
    scope_group = "group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("tariff")
        verbose_name_plural = _("tariffs")
        ordering = ["group", "code", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["group", "code", "effective_from"], name="tariff_version_unique"),
            models.CheckConstraint(condition=models.Q(unit_price__gte=0), name="tariff_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.effective_from})"


class SiteTariff(models.Model):
    """The default tariff of a customer type at one site (overrides the customer type's group-wide
    default; an account's own tariff overrides both)."""

    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="tariff_defaults", verbose_name=_("site")
    )
    customer_type = models.ForeignKey(
        "customers.CustomerType", on_delete=models.PROTECT, related_name="+", verbose_name=_("customer type")
    )
    utility = models.CharField(
        _("utility"), max_length=16, choices=Utility.choices, default=Utility.ELECTRICITY
    )
    tariff = models.ForeignKey(Tariff, on_delete=models.PROTECT, related_name="+", verbose_name=_("tariff"))
    history = HistoricalRecords()

    objects = ScopedManager()
    scope_group = "site__group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("site default tariff")
        verbose_name_plural = _("site default tariffs")
        constraints = [
            models.UniqueConstraint(fields=["site", "customer_type", "utility"], name="site_tariff_unique")
        ]

    def __str__(self) -> str:
        return f"{self.site} {self.customer_type} {self.utility}: {self.tariff}"


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", _("Holiday")
    WORKDAY = "workday", _("Make-up workday (调休)")


class CalendarDay(models.Model):
    """A day the time-of-use schedules do not read from the weekday: a statutory holiday (priced with
    the tariff's holiday schedule), or a weekend made a workday (调休, priced as a workday). One
    calendar per group; every other day is a workday Monday to Friday and a weekend day otherwise."""

    group = models.ForeignKey(
        PropertyGroup, on_delete=models.PROTECT, related_name="calendar_days", verbose_name=_("group")
    )
    day = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=8, choices=DayKind.choices)
    name = models.CharField(_("name"), max_length=100, blank=True)
    history = HistoricalRecords()

    objects = ScopedManager()
    scope_group = "group"
    scope_site: str | None = None

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("holiday calendar")
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["group", "day"], name="calendar_day_unique")]

    def __str__(self) -> str:
        return f"{self.day} {self.get_kind_display()} {self.name}".strip()
