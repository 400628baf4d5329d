"""Fixtures of the API fuzz run (``make fuzz``): the test suite's shop and an API client with every
scope, so generated requests reach the code behind authentication."""

from __future__ import annotations

from typing import Any

import pytest

from prepay.vending.actions import do_topup_float
from tests.api.conftest import make_client
from tests.conftest import _english_by_default, _fast_password_hashing, world  # noqa: F401
from tests.vending.conftest import shop, store  # noqa: F401


@pytest.fixture
def api_key(shop: Any) -> str:  # noqa: F811 - the fixture imported above
    do_topup_float(point=shop.agent, amount="1000.00", actor=shop.world.finance, idempotency_key="fuzz-seed")
    _client, key = make_client(shop, scopes=["read", "quote", "vend", "reversal", "approve", "float"])
    return str(key)
