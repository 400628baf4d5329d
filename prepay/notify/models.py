"""Notifications to customers and to staff: channels (SMS gateway HTTP API, email, webhook), optional
template overrides, and every message sent with its delivery status.

A staff notification (``user`` set: e.g. a site's clerk told that a paid customer's supply restore
failed) goes to the user's e-mail address through the site's e-mail channel, or straight through
Django's mail backend (``PREPAY_EMAIL_URL``) when the site has none; the site's webhooks get it too.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from prepay.tenancy.models import ScopedManager


class ChannelKind(models.TextChoices):
    SMS = "sms", _("SMS gateway (HTTP API)")
    EMAIL = "email", _("Email")
    WEBHOOK = "webhook", _("Webhook")


class Channel(models.Model):
    """Where a site's notifications go. ``config``: for ``sms`` ``{"url", "token", "sign"}``, for
    ``webhook`` ``{"url", "secret"}`` (HMAC-SHA256 signature header), for ``email`` ``{"from"}``."""

    group = models.ForeignKey(
        "tenancy.PropertyGroup", on_delete=models.CASCADE, related_name="+", verbose_name=_("group")
    )
    site = models.ForeignKey(
        "tenancy.Site",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("site"),
    )
    kind = models.CharField(_("kind"), max_length=8, choices=ChannelKind.choices)
    name = models.CharField(_("name"), max_length=100)
    config = models.JSONField(_("configuration"), default=dict, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)

    objects = ScopedManager()
    scope_group = "group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("notification channel")
        verbose_name_plural = _("notification channels")

    def __str__(self) -> str:
        return self.name


class Template(models.Model):
    """A group's own wording for a notification (else the built-in zh-Hans / English text)."""

    group = models.ForeignKey(
        "tenancy.PropertyGroup", on_delete=models.CASCADE, related_name="+", verbose_name=_("group")
    )
    key = models.CharField(_("key"), max_length=40)
    language = models.CharField(_("language"), max_length=10)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))

    objects = ScopedManager()
    scope_group = "group"
    scope_site: str | None = None

    class Meta:
        verbose_name = _("notification template")
        verbose_name_plural = _("notification templates")
        constraints = [
            models.UniqueConstraint(fields=["group", "key", "language"], name="notify_template_unique")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.language})"


class Status(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    NO_CHANNEL = "no_channel", _("No channel configured")


class Notification(models.Model):
    """One message to one recipient through one channel, rendered when queued; delivery recorded."""

    site = models.ForeignKey(
        "tenancy.Site", on_delete=models.PROTECT, related_name="+", verbose_name=_("site")
    )
    account = models.ForeignKey(
        "customers.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("account"),
    )
    channel = models.ForeignKey(
        Channel, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("channel")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("staff recipient"),
    )
    key = models.CharField(_("template"), max_length=40)
    language = models.CharField(_("language"), max_length=10)
    recipient = models.CharField(_("recipient"), max_length=200, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    context = models.JSONField(_("data"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), db_index=True)
    provider_ref = models.CharField(_("provider reference"), max_length=100, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    objects = ScopedManager()
    scope_group = "site__group"
    scope_site: str | None = "site"

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.key} → {self.recipient}"
