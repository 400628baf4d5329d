"""Tenancy: property groups (tenants), their sites, and staff memberships with roles."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from prepay.common.fields import MoneyField
from prepay.tenancy.choices import Role

#: defaults of a site's sale limits (yuan): far above a household's purchase, well below a slip's
DEFAULT_MAX_SALE = Decimal("50000.00")
DEFAULT_MAX_DAILY = Decimal("100000.00")
DEFAULT_CONFIRM_ABOVE = Decimal("5000.00")


class ScopedQuerySet(models.QuerySet):  # type: ignore[type-arg]
    """QuerySet of a model that belongs to a group and (optionally) a site.

    Models set ``scope_group`` and ``scope_site`` to the lookup paths of their group and site.
    ``for_user(user)`` keeps the rows the user may see; ``for_user(user, capability)`` the rows the
    user may act on with that capability.
    """

    def for_user(self, user: Any, capability: str = "view") -> ScopedQuerySet:
        from prepay.tenancy.scoping import scope_q

        return self.filter(scope_q(user, self.model, capability))


class ScopedManager(models.Manager.from_queryset(ScopedQuerySet)):  # type: ignore[misc]
    pass


class PropertyGroup(models.Model):
    """A tenant: a utility, property company, campus or industrial park operator."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords()

    objects = ScopedManager()
    scope_group = "pk"
    scope_site: str | None = None

    class Meta:
        verbose_name = _("property group")
        verbose_name_plural = _("property groups")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Site(models.Model):
    """A supply area / property operated by a group (供电区域)."""

    group = models.ForeignKey(
        PropertyGroup, on_delete=models.PROTECT, related_name="sites", verbose_name=_("group")
    )
    code = models.SlugField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=200)
    address = models.CharField(_("address"), max_length=300, blank=True)
    arrears_recovery_percent = models.PositiveSmallIntegerField(
        _("arrears recovery (%)"),
        default=100,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("Share of each purchase that settles arrears and fees first, until they are cleared."),
    )
    # Limits that stop a typing slip (an extra zero, the meter number typed as the amount) from
    # becoming a sale; set by the site's admin in the back office.
    max_sale_amount = MoneyField(
        _("largest single sale"),
        default=DEFAULT_MAX_SALE,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("A sale above this is refused at the counter and in the API."),
    )
    max_daily_amount = MoneyField(
        _("most one account may buy in a day"),
        default=DEFAULT_MAX_DAILY,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("The sum of one account's sales on one day (reversed sales not counted)."),
    )
    confirm_sale_above = MoneyField(
        _("second confirmation above"),
        default=DEFAULT_CONFIRM_ABOVE,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_(
            "At the counter, a sale above this must be confirmed once more, with the amount in words."
        ),
    )
    history = HistoricalRecords()

    objects = ScopedManager()
    scope_group = "group"
    scope_site: str | None = "pk"

    class Meta:
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        ordering = ["group__code", "code"]
        constraints = [models.UniqueConstraint(fields=["group", "code"], name="site_code_unique_in_group")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if None not in (self.confirm_sale_above, self.max_sale_amount) and (
            self.confirm_sale_above > self.max_sale_amount
        ):
            raise ValidationError(
                {"confirm_sale_above": _("The confirmation threshold must not be above the largest sale.")}
            )
        if None not in (self.max_daily_amount, self.max_sale_amount) and (
            self.max_daily_amount < self.max_sale_amount
        ):
            raise ValidationError(
                {"max_daily_amount": _("The daily maximum must not be below the largest single sale.")}
            )


class Membership(models.Model):
    """A role held by a user on one site, or on every site of a group (site empty)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    group = models.ForeignKey(
        PropertyGroup, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("group")
    )
    site = models.ForeignKey(
        Site,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="memberships",
        verbose_name=_("site"),
        help_text=_("Empty: the role applies to every site of the group."),
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "group", "role"],
                condition=models.Q(site__isnull=True),
                name="membership_group_unique",
            ),
            models.UniqueConstraint(
                fields=["user", "site", "role"],
                condition=models.Q(site__isnull=False),
                name="membership_site_unique",
            ),
        ]

    def __str__(self) -> str:
        where = self.site.name if self.site is not None else f"{self.group.name} (*)"
        return f"{self.user} · {self.get_role_display()} @ {where}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.site is not None and self.group_id and self.site.group_id != self.group_id:
            raise ValidationError(_("The site does not belong to the group."))
