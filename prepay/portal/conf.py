"""Portal settings, from the environment (read at use; tests change them with the ``settings``
fixture, whose attribute of the same name wins).

  PREPAY_PORTAL_CODE_MINUTES          how long a sign-in code is good (default 5)
  PREPAY_PORTAL_CODE_TRIES            wrong tries before a code is spent (default 5)
  PREPAY_PORTAL_WINDOW_MINUTES        the throttling window (default 15)
  PREPAY_PORTAL_CODES_PER_ACCOUNT     codes sent for one account (or number typed) per window (default 3)
  PREPAY_PORTAL_CODES_PER_ADDRESS     codes asked from one client address per window (default 10)
  PREPAY_PORTAL_FAILURES_PER_ACCOUNT  wrong codes for one account per window (default 5)
  PREPAY_PORTAL_FAILURES_PER_ADDRESS  wrong codes from one client address per window (default 20)
  PREPAY_PORTAL_IDLE_MINUTES          a session ends after this long without a request (default 15)
  PREPAY_PORTAL_SESSION_MINUTES       and at the latest this long after sign-in (default 60)
  PREPAY_PORTAL_SEND_INLINE           "1": send sign-in codes before answering (tests, debugging);
                                      by default a background thread sends them, so the answer
                                      takes as long for an unknown number as for a customer's
"""

from __future__ import annotations

import os
from datetime import timedelta

from django.conf import settings

DEFAULTS = {
    "CODE_MINUTES": 5,
    "CODE_TRIES": 5,
    "WINDOW_MINUTES": 15,
    "CODES_PER_ACCOUNT": 3,
    "CODES_PER_ADDRESS": 10,
    "FAILURES_PER_ACCOUNT": 5,
    "FAILURES_PER_ADDRESS": 20,
    "IDLE_MINUTES": 15,
    "SESSION_MINUTES": 60,
}

COOKIE = "prepay_portal"


def value(name: str) -> int:
    """``PREPAY_PORTAL_<name>``: the Django setting, else the environment, else the default."""
    full = f"PREPAY_PORTAL_{name}"
    found = getattr(settings, full, None)
    if found is None:
        found = os.environ.get(full, str(DEFAULTS[name]))
    return max(1, int(str(found)))


def minutes(name: str) -> timedelta:
    return timedelta(minutes=value(name))


def send_inline() -> bool:
    found = getattr(settings, "PREPAY_PORTAL_SEND_INLINE", None)
    if found is None:
        found = os.environ.get("PREPAY_PORTAL_SEND_INLINE", "0")
    return str(found).lower() in {"1", "true", "yes", "on"}
