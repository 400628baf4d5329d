from __future__ import annotations

from django.apps import AppConfig


class TariffsConfig(AppConfig):
    name = "prepay.tariffs"
    label = "tariffs"
