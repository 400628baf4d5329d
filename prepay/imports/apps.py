from __future__ import annotations

from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "prepay.imports"
    label = "imports"
