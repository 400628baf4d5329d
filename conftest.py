"""The suite's clock (loaded for tests/ and e2e/ alike).

``PREPAY_TEST_NOW=2028-02-29T23:50:00+08:00`` runs the whole suite as if it were that moment (the
clock keeps ticking from there): CI runs it at a month end, a year end and a leap day
(``.ci/run``), so a test that silently depends on today's date fails in CI rather than on some
future day. A test that needs a fixed instant uses the ``clock`` fixture (tests/conftest.py).
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import time_machine

_TRAVEL: list[Any] = []


def pytest_configure(config: Any) -> None:
    when = os.environ.get("PREPAY_TEST_NOW", "").strip()
    if not when:
        return
    moment = datetime.fromisoformat(when)
    if moment.tzinfo is None:
        raise SystemExit(f"PREPAY_TEST_NOW needs a UTC offset (e.g. {when}+08:00), not {when!r}")
    traveller = time_machine.travel(moment, tick=True)
    traveller.start()
    _TRAVEL.append(traveller)


def pytest_unconfigure(config: Any) -> None:
    while _TRAVEL:
        _TRAVEL.pop().stop()


def pytest_report_header(config: Any) -> str:
    return f"clock: {os.environ.get('PREPAY_TEST_NOW') or 'real time'} (PREPAY_TEST_NOW)"
