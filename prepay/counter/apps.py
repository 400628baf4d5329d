from __future__ import annotations

from django.apps import AppConfig


class CounterConfig(AppConfig):
    name = "prepay.counter"
    label = "counter"
