from __future__ import annotations

from django.apps import AppConfig


class CardbridgeConfig(AppConfig):
    """The counter PC's card bridge (``prepay cardbridge``): no models, only its command."""

    name = "prepay.cardbridge"
    label = "cardbridge"
