"""Premises (buildings, units), customer types, customers and prepaid accounts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from prepay.common.fields import EnergyField
from prepay.customers.choices import AccountMode, AccountStatus, BillingMode, Utility
from prepay.tenancy.models import PropertyGroup, ScopedManager, Site


class Building(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="buildings", verbose_name=_("site"))
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=200)
    floors = models.PositiveSmallIntegerField(_("floors"), default=1)
    history = HistoricalRecords()

    objects = ScopedManager()
    scope_group = "site__group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        ordering = ["site", "code"]
        constraints = [models.UniqueConstraint(fields=["site", "code"], name="building_code_unique_in_site")]

    def __str__(self) -> str:
        return self.name


class Unit(models.Model):
    """A flat, shop, office or plant room: where a meter is installed."""

    building = models.ForeignKey(
        Building, on_delete=models.PROTECT, related_name="units", verbose_name=_("building")
    )
    number = models.CharField(_("number"), max_length=32)
    floor = models.SmallIntegerField(_("floor"), default=1)
    area = EnergyField(_("floor area (m²)"), default=Decimal("0"))
    history = HistoricalRecords()

    objects = ScopedManager()
    scope_group = "building__site__group"
    scope_site: str | None = "building__site"

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["building", "number"]
        constraints = [
            models.UniqueConstraint(fields=["building", "number"], name="unit_number_unique_in_building")
        ]

    def __str__(self) -> str:
        return f"{self.building.name} {self.number}"

    @property
    def site(self) -> Site:
        return self.building.site


class CustomerType(models.Model):
    """Residential, commercial, industrial …; carries default tariffs (用户类型)."""

    group = models.ForeignKey(
        PropertyGroup, on_delete=models.PROTECT, related_name="customer_types", verbose_name=_("group")
    )
    code = models.SlugField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=100)
    default_electricity_tariff = models.ForeignKey(
        "tariffs.Tariff",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("default electricity tariff"),
    )
    default_water_tariff = models.ForeignKey(
        "tariffs.Tariff",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("default water tariff"),
    )
    history = HistoricalRecords()

    objects = ScopedManager()
    scope_group = "group"
    scope_site: str | None = None

    class Meta:
        verbose_name = _("customer type")
        verbose_name_plural = _("customer types")
        ordering = ["group", "code"]
        constraints = [models.UniqueConstraint(fields=["group", "code"], name="customer_type_code_unique")]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="customers", verbose_name=_("site"))
    number = models.CharField(_("customer number"), max_length=32)
    name = models.CharField(_("name"), max_length=200)
    #: pinyin initials of the name (prepay.customers.names), written with the name: see ``save``
    name_initials = models.CharField(_("name initials"), max_length=200, blank=True, editable=False)
    customer_type = models.ForeignKey(
        CustomerType, on_delete=models.PROTECT, related_name="customers", verbose_name=_("customer type")
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True, db_index=True)
    id_number = models.CharField(_("ID / licence number"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("Language of the messages sent to the customer; empty: the platform's default."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords()

    objects = ScopedManager()
    scope_group = "site__group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["site", "number"]
        constraints = [
            models.UniqueConstraint(fields=["site", "number"], name="customer_number_unique_in_site")
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Keep ``name_initials`` in step with ``name`` on every write of the name (the customer
        actions, the back office, imports), so a search never converts names."""
        from prepay.customers.names import initials_of

        self.name_initials = initials_of(self.name)
        fields = kwargs.get("update_fields")
        if fields is not None and "name" in fields and "name_initials" not in fields:
            kwargs["update_fields"] = [*fields, "name_initials"]
        super().save(*args, **kwargs)


class Account(models.Model):
    """A prepaid (or postpaid) account for one utility at one unit.

    The money balance is never stored here: it is the ``balance_after`` of the newest ledger entry
    (see vending.LedgerEntry); ``prepay db check`` proves the ledger adds up.
    """

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="accounts", verbose_name=_("site"))
    number = models.CharField(_("account number"), max_length=32, unique=True)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="accounts", verbose_name=_("customer")
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="accounts", verbose_name=_("unit"))
    utility = models.CharField(
        _("utility"), max_length=16, choices=Utility.choices, default=Utility.ELECTRICITY
    )
    mode = models.CharField(
        _("fee control"), max_length=8, choices=AccountMode.choices, default=AccountMode.LOCAL
    )
    billing = models.CharField(
        _("billing"), max_length=8, choices=BillingMode.choices, default=BillingMode.PREPAID
    )
    status = models.CharField(
        _("status"), max_length=16, choices=AccountStatus.choices, default=AccountStatus.OPEN
    )
    tariff = models.ForeignKey(
        "tariffs.Tariff",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accounts",
        verbose_name=_("tariff override"),
        help_text=_("Empty: the customer type's default tariff."),
    )
    opened_at = models.DateTimeField(_("opened at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    history = HistoricalRecords()

    objects = ScopedManager()
    scope_group = "site__group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["number"]

    def __str__(self) -> str:
        return self.number

    def effective_tariff(self):  # type: ignore[no-untyped-def]
        """The account's tariff override, else the customer type's default for the utility."""
        if self.tariff_id:
            return self.tariff
        ct = self.customer.customer_type
        return ct.default_water_tariff if self.utility == Utility.WATER else ct.default_electricity_tariff
