from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Assertions match English messages; the default language is zh-hans once its catalogue exists.
    with translation.override("en"):
        yield
