"""Ten-day reconciliation (每10天对帐) of a base team's takings: money handed over and finance's sign-off.

A *base team* is a site (供电区域): its vending points' takings for a ten-day period (1–10, 11–20,
21–end of the month) are reconciled against the money the team handed over (上缴: cash deposited at the
bank, with the bank's reference). Finance signs the sheet off; from then on the period is locked
(prepay/reconciliation/actions.py). The sheet's figures are computed by
:mod:`prepay.reports.reconciliation` from the journal; a sign-off keeps the figures it signed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from prepay.common.fields import MoneyField
from prepay.tenancy.models import ScopedManager
from prepay.vending.models import PaymentMethod


class Handover(models.Model):
    """上缴: money the site's team handed over for the takings of one ten-day period.

    ``period_start`` names the period whose takings it hands over (cash taken on the 10th is often
    deposited on the 11th: it still belongs to 1–10); ``deposited_on`` is the bank's date.
    """

    site = models.ForeignKey(
        "tenancy.Site", on_delete=models.PROTECT, related_name="handovers", verbose_name=_("site")
    )
    period_start = models.DateField(_("period"))
    deposited_on = models.DateField(_("deposited on"))
    method = models.CharField(
        _("payment method"), max_length=8, choices=PaymentMethod.choices, default=PaymentMethod.CASH
    )
    amount = MoneyField(_("amount"))
    reference = models.CharField(_("bank reference"), max_length=80)
    handed_over_by = models.CharField(_("handed over by"), max_length=100)
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    objects = ScopedManager()
    scope_group = "site__group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("handover")
        verbose_name_plural = _("handovers")
        ordering = ["site", "period_start", "deposited_on", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="handover_amount_positive"),
            models.UniqueConstraint(fields=["site", "reference"], name="handover_reference_unique_per_site"),
        ]

    def __str__(self) -> str:
        return f"{self.site} {self.deposited_on} {self.amount} {self.reference}"


class SignOff(models.Model):
    """Finance's sign-off of a site's reconciliation sheet for one ten-day period; the period is then
    locked. ``figures`` keeps what was signed (payment method → money, as strings): ``takings``,
    ``handed`` and ``difference``."""

    site = models.ForeignKey(
        "tenancy.Site", on_delete=models.PROTECT, related_name="sign_offs", verbose_name=_("site")
    )
    period_start = models.DateField(_("period"))
    period_end = models.DateField(_("period end"))
    figures = models.JSONField(_("figures signed"), default=dict)
    note = models.CharField(_("note"), max_length=200, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("signed off by")
    )
    signed_at = models.DateTimeField(_("signed off at"))

    objects = ScopedManager()
    scope_group = "site__group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("reconciliation sign-off")
        verbose_name_plural = _("reconciliation sign-offs")
        ordering = ["site", "period_start"]
        constraints = [
            models.UniqueConstraint(fields=["site", "period_start"], name="one_sign_off_per_site_period")
        ]

    def __str__(self) -> str:
        return f"{self.site} {self.period_start}–{self.period_end}"
