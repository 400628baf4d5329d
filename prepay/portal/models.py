"""Customer sign-in for the self-service portal: one-time codes, throttling counters and sessions.

A customer is not a Django user: a portal session is keyed to a ``Customer`` and sees that
customer's accounts only. Codes and session keys are stored as keyed hashes (HMAC-SHA256 under a
key derived from ``SECRET_KEY``), never in clear.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class OneTimeCode(models.Model):
    """A six-digit sign-in code sent to a customer's phone or e-mail: short-lived, single-use,
    spent after a few wrong tries."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", verbose_name=_("customer")
    )
    subject = models.CharField(max_length=64, db_index=True)  # hash of what was typed (see codes.py)
    salt = models.CharField(max_length=32)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("good until"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    tries = models.PositiveSmallIntegerField(_("wrong tries"), default=0)
    channel = models.CharField(_("sent by"), max_length=8, blank=True)
    destination = models.CharField(_("sent to"), max_length=64, blank=True)  # masked
    delivered = models.BooleanField(_("delivered"), null=True)
    error = models.CharField(_("delivery error"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("sign-in code")
        verbose_name_plural = _("sign-in codes")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.created_at:%Y-%m-%d %H:%M}"


class AttemptKind(models.TextChoices):
    CODE = "code", _("Code asked for")
    FAILURE = "failure", _("Wrong code")


class PortalAttempt(models.Model):
    """One counted event for throttling: a code asked for, or a wrong code, by subject (a hash of the
    account or number typed, whether it exists or not) and by client address."""

    kind = models.CharField(max_length=8, choices=AttemptKind.choices)
    subject = models.CharField(max_length=64, db_index=True)
    address = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("portal sign-in attempt")
        verbose_name_plural = _("portal sign-in attempts")

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M}"


class PortalSession(models.Model):
    """A signed-in customer: the cookie holds a random key, the row its keyed hash. Ends after
    ``PREPAY_PORTAL_IDLE_MINUTES`` without a request, at ``expires_at``, or on signing out."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", verbose_name=_("customer")
    )
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("signed in at"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("last seen"))
    expires_at = models.DateTimeField(_("ends at the latest"))
    ended_at = models.DateTimeField(_("signed out at"), null=True, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("portal session")
        verbose_name_plural = _("portal sessions")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.created_at:%Y-%m-%d %H:%M}"
