"""Fixtures of the API fuzz run (``make fuzz``): the test suite's shop and an API client with every
scope, so generated requests reach the code behind authentication."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core import signals
from django.db import close_old_connections

from prepay.vending.actions import do_topup_float
from tests.api.conftest import make_client
from tests.conftest import _english_by_default, _fast_password_hashing, world  # noqa: F401
from tests.vending.conftest import shop, store  # noqa: F401


@pytest.fixture
def api_key(shop: Any) -> str:  # noqa: F811 - the fixture imported above
    do_topup_float(point=shop.agent, amount="1000.00", actor=shop.world.finance, idempotency_key="fuzz-seed")
    _client, key = make_client(shop, scopes=["read", "quote", "vend", "reversal", "approve", "float"])
    return str(key)


@pytest.fixture(autouse=True)
def _connection_kept_between_requests() -> Iterator[None]:
    """schemathesis calls the WSGI application itself, so Django's request signals close the
    database connection after each request; inside the test's transaction (autocommit off, unlike
    the settings) that closes it for good ("the connection is closed" on PostgreSQL; SQLite's
    in-memory test database ignores it). Django's own test client disconnects the handler the same
    way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
