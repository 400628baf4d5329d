"""Shared fixtures: two groups; group A has sites A1 and A2, group B has site B1; staff per role."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from prepay.tenancy.choices import Role
from tests import factories as f


@dataclass
class World:
    a1: f.SiteWorld
    a2: f.SiteWorld
    b1: f.SiteWorld
    admin: Any  # group A admin (all sites of A)
    clerk: Any  # clerk at A1
    cashier: Any  # cashier at A1
    finance: Any  # group-level finance of A
    auditor: Any  # auditor at A1
    clerk_a2: Any  # clerk at A2 (outsider for A1)
    clerk_b: Any  # clerk in group B (outsider group)


@pytest.fixture
def world(db: Any) -> World:
    a1 = f.site_world(f.group("ga"), "a1")
    a2 = f.site_world(a1.group, "a2")
    b1 = f.site_world(f.group("gb"), "b1")
    return World(
        a1=a1,
        a2=a2,
        b1=b1,
        admin=f.user("admin_a", memberships=[(a1.group, None, Role.ADMIN)]),
        clerk=f.user("clerk_a1", memberships=[(a1.group, a1.site, Role.CLERK)]),
        cashier=f.user("cashier_a1", memberships=[(a1.group, a1.site, Role.CASHIER)]),
        finance=f.user("finance_a", memberships=[(a1.group, None, Role.FINANCE)]),
        auditor=f.user("auditor_a1", memberships=[(a1.group, a1.site, Role.AUDITOR)]),
        clerk_a2=f.user("clerk_a2", memberships=[(a1.group, a2.site, Role.CLERK)]),
        clerk_b=f.user("clerk_b1", memberships=[(b1.group, b1.site, Role.CLERK)]),
    )


#: the instant the ``clock`` fixture stops at unless a test moves it: a Friday afternoon in the
#: middle of a month, far from any month, year or daylight-saving boundary
FIXED_NOW = datetime(2026, 6, 12, 15, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def clock(time_machine: Any) -> Any:
    """A stopped clock for tests whose result depends on "now": ``timezone.now()`` is
    :data:`FIXED_NOW` until the test calls ``clock.move_to(instant)`` (or ``clock.shift(delta)``)."""
    time_machine.move_to(FIXED_NOW, tick=False)
    return time_machine


def require_services() -> bool:
    """True in CI (PREPAY_REQUIRE_SERVICES=1): a missing server is then a failure, not a skip."""
    return os.environ.get("PREPAY_REQUIRE_SERVICES") == "1"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # PBKDF2 is deliberately slow; tests create many users. Production keeps the default hashers.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _check_compiled_sql(settings: Any) -> None:
    # every run of a compiled query (prepay.common.compiled) is also built afresh and compared
    settings.PREPAY_CHECK_COMPILED_SQL = True


PG_ONLY = "needs PostgreSQL: runs in the CI stage with DATABASE_URL=postgres://… (.ci/run)"


@pytest.fixture
def pg_transactional(transactional_db: Any) -> None:
    """``transactional_db`` for tests of real concurrency, which run on PostgreSQL only.

    Several connections must commit for real. SQLite's in-memory test database cannot be shared by
    threads, and flushing it afterwards would run DELETE against the append-only audit tables, so on
    SQLite these tests are skipped at collection (below), before any fixture runs. The CI PostgreSQL
    stage (.ci/run) runs them.
    """


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    for item in items:
        if "pg_transactional" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.skip(reason=PG_ONLY))


@pytest.fixture(autouse=True)
def _english_by_default(settings: Any) -> Any:
    """Tests read English messages unless they ask for Chinese (Accept-Language or override)."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
