"""Fixtures for the counter's view tests: logged-in clients and an STS-capable meter."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from prepay.tokens import actions as token_actions
from prepay.tokens import keystore as ks
from tests import factories as f

CTSA01_VK = "ABABABABABABABAB"  # IEC / Nectar worked example (see tests/tokens/conftest.py)


def client_for(user: Any, language: str = "en") -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE=language)
    c.force_login(user)
    return c


@pytest.fixture
def store(monkeypatch: Any) -> ks.SoftwareKeyStore:
    s = ks.SoftwareKeyStore(ks.StoreKey(bytes(range(32))))
    monkeypatch.setattr(ks, "_store", s)
    return s


@pytest.fixture
def sts_meter(world: Any, store: Any) -> Any:
    """A single-phase STS meter at site A1 whose vending key is in the store."""
    token_actions.do_import_vending_keys(
        group=world.a1.group,
        actor=world.admin,
        rows=[
            {
                "label": "VUDK",
                "dkga": "02",
                "supply_group_code": "123456",
                "key_revision": 1,
                "key_type": 2,
                "key": CTSA01_VK,
            },
            {
                "label": "VUDK r2",
                "dkga": "02",
                "supply_group_code": "123456",
                "key_revision": 2,
                "key_type": 2,
                "key": "0123456789ABCDEF",
            },
        ],
    )
    return f.meter(
        world.a1, drn="00000000000", supply_group_code="123456", tariff_index="01", key_revision=1, key_type=2
    )


from tests.vending.conftest import shop  # noqa: E402, F401  (the vending tests' ready counter)
