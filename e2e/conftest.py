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
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e import liveserver
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
    # the live server shares this connection: wait for a request the last page left running
    with liveserver.idle(FLUSH_WAIT, _other_threads):
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


#: seconds the flush after a test waits for the live server to finish a request
FLUSH_WAIT = 60


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """``shot(page, "step")`` saves e2e/screenshots/<test>--<step>.png for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test = _file_name(request.node.name)

    def take(page: Any, step: str) -> Path:
        path = SCREENSHOTS / f"{test}--{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def _file_name(test: str) -> str:
    return re.sub(r"[^\w.-]+", "_", test)


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


@pytest.fixture(scope="session")
def live_server(request: pytest.FixtureRequest) -> Iterator[Any]:
    """pytest-django's live server (same address rules), answering one request at a time when it
    shares the test's in-memory SQLite connection (:mod:`e2e.liveserver`)."""
    addr = (
        request.config.getvalue("liveserver") or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    )
    server = liveserver.start(addr)
    yield server
    server.stop()


# ------------------------------------------------------------------------------------------------
# When a browser test fails, its report says what the browser and the server were doing: the
# page's address and any error it shows, the last requests and their answers, and the stacks of the
# server threads still answering a request (one that never answered shows there).
# ------------------------------------------------------------------------------------------------

NETWORK_LINES = 40


@pytest.fixture(autouse=True)
def _network_log(request: pytest.FixtureRequest) -> None:
    """Record the page's requests (sent, answered with status, failed) for the failure report."""
    if "page" not in request.fixturenames:
        return
    page = request.getfixturevalue("page")
    start, lines = time.monotonic(), list[str]()
    request.node.stash[NETWORK] = lines

    def note(text: str) -> None:
        lines.append(f"+{time.monotonic() - start:6.2f}s {text}")

    page.on("request", lambda r: note(f"→ {r.method} {r.url}"))
    page.on("response", lambda r: note(f"← {r.status} {r.request.method} {r.url}"))
    page.on("requestfailed", lambda r: note(f"✗ {r.method} {r.url}: {r.failure}"))


NETWORK = pytest.StashKey[list[str]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call" and report.failed:
        for title, text in _failure_sections(item):
            report.sections.append((title, text))
    return report


def _failure_sections(item: pytest.Item) -> list[tuple[str, str]]:
    sections = []
    page = getattr(item, "funcargs", {}).get("page")
    if page is not None:
        try:
            shown = page.evaluate(
                "() => Array.from(document.querySelectorAll('[role=alert], .errorlist, .message.error'))"
                ".map(e => e.innerText.trim()).filter(Boolean).join('\\n')"
            )
            sections.append(("browser: the page", f"{page.url}\n{shown or '(no error shown)'}"))
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{_file_name(item.name)}--failed.png"))
        except Exception as exc:  # the page may be gone or hung: say so and go on
            sections.append(("browser: the page", f"could not read it: {exc!r}"))
    lines = item.stash.get(NETWORK, [])
    if lines:
        sections.append(("browser: the last requests", "\n".join(lines[-NETWORK_LINES:])))
    sections.append(("live server: requests in progress", _other_threads()))
    return sections


def _other_threads() -> str:
    """The stacks of the threads answering a request (a live server request, or one waiting for its
    turn); idle keep-alive connections and pools are left out."""
    names = {t.ident: t.name for t in threading.enumerate()}
    here = threading.get_ident()
    out = []
    for ident, frame in sys._current_frames().items():
        stack = traceback.format_stack(frame)
        if ident != here and any(mark in line for line in stack for mark in BUSY):
            out.append(f"--- {names.get(ident, ident)}\n" + "".join(stack[-15:]))
    return "\n".join(out) or "(no thread was answering a request)"


#: a stack through one of these is answering a request
BUSY = ("django/core/handlers/", "e2e/liveserver.py", "/prepay/")
