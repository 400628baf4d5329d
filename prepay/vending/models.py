"""The customer ledger and vends.

Balances are never mutable fields: every movement is a LedgerEntry with ``balance_after``, written
under a row lock on the account; ``prepay db check`` proves each account's newest ``balance_after``
equals the sum of its entries.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from prepay.common.fields import EnergyField, MoneyField
from prepay.tenancy.models import ScopedManager


class EntryKind(models.TextChoices):
    PAYMENT = "payment", _("Payment")
    VEND = "vend", _("Vend")
    CHARGE = "charge", _("Consumption charge")
    FEE = "fee", _("Fee")
    ADJUSTMENT = "adjustment", _("Adjustment")
    CREDIT_RETURN = "credit_return", _("Credit returned from meter")
    REFUND = "refund", _("Refund")
    REVERSAL = "reversal", _("Reversal")
    TRANSFER = "transfer", _("Transfer settlement")


class LedgerEntry(models.Model):
    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="ledger", verbose_name=_("account")
    )
    seq = models.PositiveIntegerField(_("sequence"))
    kind = models.CharField(_("kind"), max_length=16, choices=EntryKind.choices)
    amount = MoneyField(_("amount"), help_text=_("Positive credits the account, negative debits it."))
    balance_after = MoneyField(_("balance after"))
    energy = EnergyField(_("energy"), null=True, blank=True)
    memo = models.CharField(_("memo"), max_length=200, blank=True)
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=80, null=True, blank=True, unique=True
    )
    reverses = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
        verbose_name=_("reverses"),
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("by")
    )

    objects = ScopedManager()
    scope_group = "account__site__group"
    scope_site: str | None = "account__site"

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["account", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["account", "seq"], name="ledger_seq_unique_per_account")
        ]

    def __str__(self) -> str:
        return f"{self.account} #{self.seq} {self.amount}"


class VendStatus(models.TextChoices):
    COMPLETED = "completed", _("Completed")
    PENDING_APPROVAL = "pending_approval", _("Reversal awaiting approval")
    REVERSED = "reversed", _("Reversed")


class Vend(models.Model):
    """A sale of credit to an account. The full vending flow arrives with the vending issue."""

    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="vends", verbose_name=_("account")
    )
    meter = models.ForeignKey(
        "meters.Meter", on_delete=models.PROTECT, null=True, blank=True, related_name="vends"
    )
    amount = MoneyField(_("amount"))
    energy = EnergyField(_("energy"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=VendStatus.choices, default=VendStatus.COMPLETED
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    objects = ScopedManager()
    scope_group = "account__site__group"
    scope_site: str | None = "account__site"

    class Meta:
        verbose_name = _("vend")
        verbose_name_plural = _("vends")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.account} {self.amount}"
