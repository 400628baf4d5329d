from __future__ import annotations

from django.apps import AppConfig


class VendingConfig(AppConfig):
    name = "prepay.vending"
    label = "vending"
