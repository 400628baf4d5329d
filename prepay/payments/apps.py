from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "prepay.payments"
    label = "payments"
    verbose_name = _("Online payments")
    default_auto_field = "django.db.models.BigAutoField"
