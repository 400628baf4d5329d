from __future__ import annotations

import pytest

from prepay.tokens import keystore as ks

# IEC / Nectar CTSA01 worked example: VK ABAB…, PAN 600727000000000009, KT 2, SGC 123456, TI 01, KRN 1
CTSA01_VK = "ABABABABABABABAB"


def import_test_key(group, actor) -> None:
    """Import the spec's test vending key (SGC 123456, KRN 1, key type 2) for ``group``."""
    from prepay.tokens.actions import do_import_vending_keys

    do_import_vending_keys(
        group=group,
        actor=actor,
        rows=[
            {"dkga": "02", "supply_group_code": "123456", "key_revision": 1, "key_type": 2, "key": CTSA01_VK}
        ],
    )


CTSA01_DK = "E653341F9D5BF36F"


@pytest.fixture
def store(monkeypatch):
    """A software key store with a fixed store key, installed as the process-wide store."""
    s = ks.SoftwareKeyStore(ks.StoreKey(bytes(range(32))))
    monkeypatch.setattr(ks, "_store", s)
    return s
