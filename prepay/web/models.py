"""The web app's only model: failed sign-ins as the back office shows them (a proxy of axes' rows)."""

from __future__ import annotations

from axes.models import AccessAttempt
from django.utils.translation import gettext_lazy as _


class FailedSignIn(AccessAttempt):
    """django-axes' ``AccessAttempt`` (one row per user name, address and browser, with its count of
    failures), under a name people read; lifting a lockout deletes rows (``web.actions``)."""

    class Meta:
        proxy = True
        verbose_name = _("failed sign-in")
        verbose_name_plural = _("failed sign-ins (lockouts)")
