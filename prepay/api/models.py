"""API clients: integrations (payment channels, partner agents) that call the vending API with a key.

A client acts as its own service user, which holds ordinary memberships, so every permission and
scoping rule of the staff screens applies to it unchanged. ``created_by`` records the person behind
it, so four-eyes rules can tell that a request made through a client and an approval by its creator
(or through another client of the same creator) are one person's (:mod:`prepay.api.identity`). The key itself is never stored: only its
public prefix (to find the row) and a salted SHA-256 of the secret part. Keys are 256-bit random
strings, so a fast hash is enough (there is nothing to brute-force, unlike a password); a slow
password hash would cost tens of milliseconds on every request.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from prepay.tenancy.models import ScopedManager


class Scope(models.TextChoices):
    READ = "read", _("Look up accounts, meters, vends, receipts and balances")
    QUOTE = "quote", _("Price a purchase")
    VEND = "vend", _("Sell credit, re-print receipts, re-issue tokens")
    REVERSAL = "reversal", _("Request reversals and refunds")
    APPROVE = "approve", _("Approve or reject reversals and refunds")
    FLOAT = "float", _("Top up an agent's float")


class ApiClient(models.Model):
    group = models.ForeignKey(
        "tenancy.PropertyGroup", on_delete=models.PROTECT, related_name="api_clients", verbose_name=_("group")
    )
    site = models.ForeignKey(
        "tenancy.Site",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="api_clients",
        verbose_name=_("site"),
        help_text=_("Empty: the client works for every site of the group its user may reach."),
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("key prefix"), max_length=16, unique=True, editable=False)
    salt = models.CharField(max_length=32, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    point = models.ForeignKey(
        "vending.VendingPoint",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sells as vending point"),
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="api_client",
        verbose_name=_("acting user"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="created_api_clients",
        verbose_name=_("created by"),
        help_text=_(
            "The person who created the client. Empty: not recorded (a client older than this field "
            "without its audit event); it then counts as created by any admin of its site."
        ),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    objects = ScopedManager()
    scope_group = "group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        ordering = ["group", "name"]
        constraints = [models.UniqueConstraint(fields=["group", "name"], name="api_client_name_unique")]

    def __str__(self) -> str:
        return self.name

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])
