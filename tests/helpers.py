"""Assertions shared by action tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.apps import apps

from prepay.common.errors import ActionError


def _counts() -> dict[str, int]:
    return {
        m._meta.label: m._default_manager.count()
        for m in apps.get_models()
        if m._meta.app_label
        in {"tenancy", "audit", "customers", "meters", "tariffs", "vending", "tokens", "telemetry"}
    }


@contextmanager
def changes_nothing() -> Iterator[None]:
    """Assert the block leaves every business table with the same row count."""
    before = _counts()
    yield
    assert _counts() == before


def refused(code: str, fn: Callable[..., Any], /, **kwargs: Any) -> ActionError:
    """Call an action, assert it raises ActionError with ``code`` and that nothing changed."""
    with changes_nothing(), pytest.raises(ActionError) as info:
        fn(**kwargs)
    assert info.value.code == code, f"expected {code!r}, got {info.value.code!r}: {info.value.message}"
    assert str(info.value.message)
    return info.value
