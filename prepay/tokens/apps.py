from __future__ import annotations

from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "prepay.tokens"
    label = "tokens"
