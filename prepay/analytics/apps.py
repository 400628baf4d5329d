from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "prepay.analytics"
    label = "analytics"
    verbose_name = _("Consumption analysis")
    default_auto_field = "django.db.models.BigAutoField"
