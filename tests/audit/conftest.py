"""Audit tests run with a store key of their own (a key file in the test's temporary folder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from prepay.tokens import keystore as ks


@pytest.fixture(autouse=True)
def store_key_file(tmp_path: Path, monkeypatch: Any) -> Path:
    """``PREPAY_KEY_FILE`` names a fresh key file; the process-wide key store is reloaded from it."""
    path = tmp_path / "store.key"
    ks.write_key_file(path, ks.StoreKey.generate())
    monkeypatch.setenv("PREPAY_KEY_FILE", str(path))
    ks.reset_keystore()
    yield path
    ks.reset_keystore()
