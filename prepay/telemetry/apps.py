from __future__ import annotations

from django.apps import AppConfig


class TelemetryConfig(AppConfig):
    name = "prepay.telemetry"
    label = "telemetry"
    verbose_name = "Telemetry"
