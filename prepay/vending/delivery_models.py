"""Credit owed to a meter outside a sale, and receipts sent to printers.

* :class:`CreditDelivery` — credit that must reach a local-control meter although nobody bought it
  now: the credit carried over to the new meter at a replacement (换表补电). It stays ``pending`` (on
  the account page and the clerks' list of pending deliveries) until the token is issued, the IC card
  is written or the remote credit command is confirmed by the meter.
* :class:`ReceiptPrint` — one attempt to print a receipt on a thermal printer (the original, or
  "REPRINT n" counted by ``do_reprint_receipt``), with what happened.

Imported by ``prepay/vending/models.py``: they belong to the vending app and its migrations.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from prepay.common.fields import EnergyField
from prepay.tenancy.models import ScopedManager


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be delivered")
    DELIVERED = "delivered", _("Delivered")
    MOVED = "moved", _("Moved to the next meter")


class CreditDelivery(models.Model):
    """Credit (``register_units`` on ``meter``, ``energy`` in kWh / m³) owed to a local-control meter.

    ``kind`` is how the meter takes credit (``Delivery``: token, card or remote). ``status`` is
    ``delivered`` once the token was issued, the card written (confirmed by read-back or by hand) or —
    for remote credit — stays ``pending`` while ``command`` runs: :func:`prepay.vending.deliveries.state_of`
    reads the command's own state. ``last_error`` says why the last attempt did not deliver.
    """

    account = models.ForeignKey(
        "customers.Account",
        on_delete=models.PROTECT,
        related_name="credit_deliveries",
        verbose_name=_("account"),
    )
    meter = models.ForeignKey(
        "meters.Meter", on_delete=models.PROTECT, related_name="credit_deliveries", verbose_name=_("meter")
    )
    installation = models.OneToOneField(
        "meters.Installation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_delivery",
        verbose_name=_("installation"),
    )
    kind = models.CharField(_("delivery"), max_length=8)
    energy = EnergyField(_("energy"))
    register_units = EnergyField(_("register units"))
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=200, blank=True)
    command = models.ForeignKey(
        "telemetry.MeterCommand",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("remote command"),
    )
    card = models.OneToOneField(
        "vending.CardImage",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="delivery",
        verbose_name=_("card image"),
    )
    reason = models.CharField(_("reason"), max_length=200)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("by")
    )
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    objects = ScopedManager()
    scope_group = "account__site__group"
    scope_site: str | None = "account__site"

    class Meta:
        verbose_name = _("credit delivery")
        verbose_name_plural = _("credit deliveries")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.meter} {self.register_units}"


class PrintStatus(models.TextChoices):
    SENDING = "sending", _("Sending")
    PRINTED = "printed", _("Printed")
    FAILED = "failed", _("Failed")


class ReceiptPrint(models.Model):
    """One attempt to print ``receipt`` on a thermal printer: ``copy`` 0 is the original, n is
    "REPRINT n" (counted by ``do_reprint_receipt``). ``sent`` bytes reached the printer's connection;
    a failure with nothing sent printed nothing."""

    receipt = models.ForeignKey(
        "vending.Receipt", on_delete=models.PROTECT, related_name="print_jobs", verbose_name=_("receipt")
    )
    copy = models.PositiveIntegerField(_("copy"), default=0)
    printer = models.CharField(_("printer"), max_length=120)
    width = models.PositiveSmallIntegerField(_("paper width (mm)"), default=58)
    status = models.CharField(
        _("status"), max_length=8, choices=PrintStatus.choices, default=PrintStatus.SENDING
    )
    size = models.PositiveIntegerField(_("bytes"), default=0)
    sent = models.PositiveIntegerField(_("bytes sent"), default=0)
    error = models.CharField(_("error"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("by")
    )
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = ScopedManager()
    scope_group = "receipt__point__site__group"
    scope_site: str | None = "receipt__point__site"

    class Meta:
        verbose_name = _("receipt print")
        verbose_name_plural = _("receipt prints")
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.receipt_id} #{self.copy} {self.status}"
