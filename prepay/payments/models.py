"""Online payments: providers (with their credentials encrypted at rest), orders, the provider's
notifications and daily statements.

An order is what Prepay asked a provider to collect (our order number, the account, the amount). The
provider's signed notification confirms it; only then is credit sold, once, through
``prepay.vending.actions.do_vend`` (idempotency key ``pay:<order number>``). See docs/payments.md.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from prepay.common.fields import MoneyField
from prepay.payments.choices import LineKind, OrderStatus, Outcome, ProviderKind
from prepay.tenancy.models import ScopedManager


class PaymentProvider(models.Model):
    """A merchant account at a payment provider (WeChat Pay, Alipay) or the simulated provider.

    ``config`` holds what is not secret (merchant and app ids, certificate serials, the provider's
    public keys and certificates, the gateway address). The secrets (APIv3 key, private keys) are
    sealed with AES-256-GCM under the store key (``prepay.tokens.keystore``), bound to the group and
    code as associated data, and never logged or shown. Sales are made by ``user``, the provider's
    own service user holding a cashier membership, at ``point``, an online vending point.
    """

    group = models.ForeignKey(
        "tenancy.PropertyGroup", on_delete=models.PROTECT, related_name="+", verbose_name=_("group")
    )
    site = models.ForeignKey(
        "tenancy.Site",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("site"),
        help_text=_("Empty: every site of the group."),
    )
    code = models.SlugField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=ProviderKind.choices)
    point = models.ForeignKey(
        "vending.VendingPoint", on_delete=models.PROTECT, related_name="+", verbose_name=_("vending point")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("sells as")
    )
    config = models.JSONField(_("settings"), default=dict, blank=True)
    secret_nonce = models.BinaryField(max_length=12, editable=False)
    secret_ciphertext = models.BinaryField(editable=False)
    store_key_id = models.CharField(max_length=16, editable=False)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedManager()
    scope_group = "group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("payment provider")
        verbose_name_plural = _("payment providers")
        ordering = ["group", "code"]
        constraints = [models.UniqueConstraint(fields=["group", "code"], name="payment_provider_code_unique")]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<PaymentProvider {self.pk} {self.kind} {self.code}>"

    def aad(self) -> bytes:
        """Associated data of the sealed secrets: a ciphertext copied onto another row does not open."""
        return f"prepay-payments:{self.group_id}:{self.code}:{self.kind}".encode()


class PaymentOrder(models.Model):
    """One online purchase: ``number`` is our order number (the provider's ``out_trade_no``)."""

    number = models.CharField(_("order number"), max_length=32, unique=True)
    provider = models.ForeignKey(
        PaymentProvider, on_delete=models.PROTECT, related_name="orders", verbose_name=_("provider")
    )
    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="+", verbose_name=_("account")
    )
    amount = MoneyField(_("amount"))
    # the buyer's form key: a double submit finds the first order instead of making a second
    request_key = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)  # noqa: DJ001
    status = models.CharField(
        _("status"), max_length=12, choices=OrderStatus.choices, default=OrderStatus.CREATED
    )
    checkout_kind = models.CharField(_("checkout"), max_length=8, blank=True)  # "qr" or "redirect"
    checkout_url = models.CharField(_("checkout address"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    expires_at = models.DateTimeField(_("pay before"))
    provider_trade_no = models.CharField(_("provider's transaction"), max_length=64, blank=True)
    paid_amount = MoneyField(_("amount paid"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True, db_index=True)
    vend = models.OneToOneField(
        "vending.Vend",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payment_order",
        verbose_name=_("vend"),
    )
    problem_code = models.CharField(_("problem"), max_length=40, blank=True)
    problem = models.CharField(_("problem, in words"), max_length=400, blank=True)
    refund_no = models.CharField(_("refund number"), max_length=64, blank=True)
    refund_ref = models.CharField(_("provider's refund"), max_length=64, blank=True)
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )

    objects = ScopedManager()
    scope_group = "account__site__group"
    scope_site: str | None = "account__site"

    class Meta:
        verbose_name = _("online order")
        verbose_name_plural = _("online orders")
        ordering = ["-created_at"]
        constraints = [
            # the provider's transaction id sells at most one order (idempotent on the provider's id)
            models.UniqueConstraint(
                fields=["provider", "provider_trade_no"],
                condition=~models.Q(provider_trade_no=""),
                name="payment_order_trade_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class PaymentNotification(models.Model):
    """A notification from a provider whose signature was checked, and what it did. Refused
    (forged, stale, malformed) notifications change nothing and are not stored."""

    provider = models.ForeignKey(
        PaymentProvider, on_delete=models.PROTECT, related_name="notifications", verbose_name=_("provider")
    )
    order = models.ForeignKey(
        PaymentOrder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("order"),
    )
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    event_id = models.CharField(_("notification id"), max_length=64, blank=True)
    out_trade_no = models.CharField(_("order number"), max_length=64, blank=True)
    provider_trade_no = models.CharField(_("provider's transaction"), max_length=64, blank=True)
    state = models.CharField(_("state"), max_length=32, blank=True)
    amount = MoneyField(_("amount"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    detail = models.CharField(_("detail"), max_length=400, blank=True)

    objects = ScopedManager()
    scope_group = "provider__group"
    scope_site: str | None = "provider__site"

    class Meta:
        verbose_name = _("payment notification")
        verbose_name_plural = _("payment notifications")
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.out_trade_no} {self.state} {self.outcome}"


class Statement(models.Model):
    """A provider's statement of one day (WeChat trade bill, Alipay 账务明细), imported by finance."""

    provider = models.ForeignKey(
        PaymentProvider, on_delete=models.PROTECT, related_name="statements", verbose_name=_("provider")
    )
    day = models.DateField(_("day"))
    filename = models.CharField(_("file"), max_length=200)
    sha256 = models.CharField(max_length=64, editable=False)
    imported_at = models.DateTimeField(_("imported at"), auto_now_add=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("imported by")
    )
    payments = MoneyField(_("payments"), default=0)
    refunds = MoneyField(_("refunds"), default=0)
    lines_count = models.PositiveIntegerField(_("lines"), default=0)

    objects = ScopedManager()
    scope_group = "provider__group"
    scope_site: str | None = "provider__site"

    class Meta:
        verbose_name = _("provider statement")
        verbose_name_plural = _("provider statements")
        ordering = ["-day", "provider"]
        constraints = [models.UniqueConstraint(fields=["provider", "day"], name="statement_day_unique")]

    def __str__(self) -> str:
        return f"{self.provider} {self.day:%Y-%m-%d}"


class StatementLine(models.Model):
    """One payment or refund of a statement, in the provider's words."""

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="lines")
    row = models.PositiveIntegerField(_("row"))
    kind = models.CharField(_("kind"), max_length=8, choices=LineKind.choices)
    occurred_at = models.DateTimeField(_("time"))
    out_trade_no = models.CharField(_("order number"), max_length=64, blank=True)
    provider_trade_no = models.CharField(_("provider's transaction"), max_length=64, blank=True)
    amount = MoneyField(_("amount"))
    fee = MoneyField(_("fee"), default=0)
    refund_no = models.CharField(_("refund number"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("statement line")
        verbose_name_plural = _("statement lines")
        ordering = ["statement", "row"]

    def __str__(self) -> str:
        return f"{self.statement} #{self.row}"
