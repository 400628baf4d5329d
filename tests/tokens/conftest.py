from __future__ import annotations

import pytest

from prepay.tokens import keystore as ks

# IEC / Nectar CTSA01 worked example: VK ABAB…, PAN 600727000000000009, KT 2, SGC 123456, TI 01, KRN 1
CTSA01_VK = "ABABABABABABABAB"
CTSA01_DK = "E653341F9D5BF36F"


@pytest.fixture
def store(monkeypatch):
    """A software key store with a fixed store key, installed as the process-wide store."""
    s = ks.SoftwareKeyStore(ks.StoreKey(bytes(range(32))))
    monkeypatch.setattr(ks, "_store", s)
    return s
