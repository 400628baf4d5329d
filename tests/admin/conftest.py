"""Helpers for back-office tests: a logged-in Django test client per user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client


@pytest.fixture
def login() -> Callable[[Any], Client]:
    """``login(user)`` → a test client with ``user`` signed in (English, so labels are stable)."""

    def make(user: Any) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(user)
        return client

    return make
