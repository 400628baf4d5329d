from __future__ import annotations

from django.apps import AppConfig


class TelemetryConfig(AppConfig):
    name = "prepay.telemetry"
    label = "telemetry"
    verbose_name = "Telemetry"

    def ready(self) -> None:
        from prepay.billing.jobs import register_tick_work
        from prepay.telemetry.partitions import maintain

        register_tick_work("partitions", maintain)  # PostgreSQL: months ahead, retention
