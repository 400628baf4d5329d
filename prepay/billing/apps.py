from __future__ import annotations

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "prepay.billing"
    label = "billing"
    verbose_name = "Billing"
