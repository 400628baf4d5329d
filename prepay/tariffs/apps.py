from __future__ import annotations

from django.apps import AppConfig


class TariffsConfig(AppConfig):
    name = "prepay.tariffs"
    label = "tariffs"

    def ready(self) -> None:
        from django.core import checks

        from prepay.common.configcheck import check_stored_configuration

        # the stored configuration a sale depends on, re-read at start-up (Warning level)
        checks.register(check_stored_configuration, "prepay")
