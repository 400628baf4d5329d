"""Fixtures for the message tests: the shared ``world`` with an account at A1 and one at B1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from prepay.audit.models import AuditEvent
from prepay.messaging.models import Message, MessageRead
from tests import factories as f


@dataclass
class Talk:
    world: Any
    account: Any  # an open account at A1
    account_b: Any  # an open account at B1 (the other group)


@pytest.fixture
def talk(world: Any) -> Talk:
    return Talk(world=world, account=f.account(world.a1), account_b=f.account(world.b1))


def client_for(user: Any, language: str = "en") -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE=language)
    c.force_login(user)
    return c


def _counts() -> tuple[int, int, int]:
    return Message.objects.count(), MessageRead.objects.count(), AuditEvent.objects.count()


@contextmanager
def nothing_written() -> Iterator[None]:
    """Assert the block writes no message, no receipt and no audit event."""
    before = _counts()
    yield
    assert _counts() == before
