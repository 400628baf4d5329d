from __future__ import annotations

from django.apps import AppConfig


class DbcareConfig(AppConfig):
    name = "prepay.dbcare"
    label = "dbcare"
