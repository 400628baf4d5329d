from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "prepay.payments"
    label = "payments"
    verbose_name = _("Online payments")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from prepay.payments.credentials import rewrap_all
        from prepay.tokens.keystore import register_rewrap

        register_rewrap(rewrap_all)  # `prepay keys rotate` re-encrypts the providers' credentials
