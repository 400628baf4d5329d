"""Browser tests (marker ``e2e``): Debian's Chromium driven by pytest-playwright against Django's
live server on 127.0.0.1, with a transactional test database (the server thread sees committed rows).

- Chromium is ``/usr/bin/chromium`` (never a downloaded browser build). When it is absent the tests
  skip with the reason, unless PREPAY_REQUIRE_SERVICES=1 (CI), where they fail.
- Every test saves screenshots under e2e/screenshots/ (ignored by git) via the ``shot`` fixture.
- The shared fixtures (``world``, ``shop``, the key store) come from tests/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import _english_by_default, _fast_password_hashing, require_services, world  # noqa: F401
from tests.tokens.conftest import store  # noqa: F401
from tests.vending.conftest import shop  # noqa: F401

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
PASSWORD = "pw-Secret-123"  # noqa: S105 - tests/factories.user


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Mark the browser tests and run them last: Playwright's session keeps an event loop on the main
    thread until the session ends (pytest would otherwise move these parametrized tests around, and
    the tests after them that call ``asyncio.run`` would fail)."""
    here = Path(__file__).resolve().parent
    browser = [i for i in items if Path(str(i.fspath)).resolve().is_relative_to(here)]
    for item in browser:
        item.add_marker(pytest.mark.e2e)
    chosen = {id(i) for i in browser}
    others = [i for i in items if id(i) not in chosen]
    items[:] = others + browser


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Debian's Chromium, headless, with nothing that reaches the network on its own.

    The browser is a session fixture, set up before any test's own fixtures: Chromium's presence is
    checked here, before the launch, so a machine without it skips (or, in CI, fails) with the reason.
    """
    _need_chromium()
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_context_args,
        "locale": "en-US",
        "accept_downloads": True,
        "viewport": {"width": 1360, "height": 900},
    }


@pytest.fixture(autouse=True)
def _chromium_present() -> None:
    _need_chromium()


def _need_chromium() -> None:
    if os.path.exists(CHROMIUM):
        return
    reason = (
        f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)"
    )
    if require_services():
        pytest.fail(reason + " — PREPAY_REQUIRE_SERVICES=1, so this is a failure")
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def _sync_playwright_and_django() -> Iterator[None]:
    # Playwright's sync API keeps an event loop on the test thread; the ORM calls the tests make
    # between browser steps (and the database set-up and flush around them) are plain synchronous
    # code, so Django's async guard is lifted from the first browser test on (session-scoped: the
    # live server's transactional database is flushed after function-scoped fixtures are gone;
    # testpaths runs e2e/ after tests/).
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture
def e2e_db(transactional_db: Any, _audit_flushable: None) -> None:
    """A transactional database (the live server thread sees what the test commits) whose
    append-only audit tables can be emptied after the test."""


@pytest.fixture
def _audit_flushable(transactional_db: Any) -> Iterator[None]:
    """On SQLite, flushing the test database runs DELETE, which the audit triggers refuse: empty the
    database here with the triggers lifted, then put them back (PostgreSQL flushes with TRUNCATE)."""
    yield
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "sqlite":
        return
    import importlib
    import pkgutil

    import prepay.audit.migrations as package

    # every audit migration that installs SQLite triggers, oldest first
    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__))
    modules = [importlib.import_module(f"{package.__name__}.{name}") for name in names]
    migrations = [m for m in modules if hasattr(m, "SQLITE")]
    with connection.cursor() as cursor:
        for m in reversed(migrations):  # newest first, as migrating backwards would
            for sql in m.SQLITE_REVERSE:
                cursor.execute(sql)
    try:
        call_command("flush", verbosity=0, interactive=False)
    finally:
        with connection.cursor() as cursor:
            for m in migrations:
                for sql in m.SQLITE:
                    cursor.execute(sql)


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """``shot(page, "step")`` saves e2e/screenshots/<test>--<step>.png for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^\w.-]+", "_", request.node.name)

    def take(page: Any, step: str) -> Path:
        path = SCREENSHOTS / f"{test}--{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def login(live_server: Any) -> Callable[[Any, Any], None]:
    """``login(page, user)``: sign in through the login page like a person."""

    def sign_in(page: Any, user: Any) -> None:
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("form.stack button[type=submit]")
        page.wait_for_url(re.compile(r".*/$"))
        assert "/login/" not in page.url, "login failed"

    return sign_in
