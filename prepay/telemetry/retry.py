"""How often a failed remote command is tried again, and when an unconfirmed one counts as overdue.

Every value comes from a Django setting of the same name when the settings define it (tests use
``settings.PREPAY_COMMAND_RETRY_BASE = …``), else from the environment, else the default:

=================================  =======  ===========================================================
``PREPAY_COMMAND_RETRY_BASE``      30       seconds before the second attempt
``PREPAY_COMMAND_RETRY_CAP``       1800     the longest wait between two attempts (seconds)
``PREPAY_COMMAND_MAX_ATTEMPTS``    10       attempts before a command fails for good
``PREPAY_COMMAND_OVERDUE_AFTER``   600      seconds after which an unconfirmed command is overdue:
                                            shown on the dashboard, and for a supply restore (close)
                                            the site's clerks are told, even while it is retrying
=================================  =======  ===========================================================

The wait after the n-th failed attempt is ``base × 2^(n−1)``, at most ``cap``: with the defaults
30 s, 1, 2, 4, 8, 16 min, then every 30 min — the tenth attempt is made about two hours after the
first, and only then does the command fail. No jitter: a meter's commands are retried in the order
they were queued, and a fixed schedule is what the account page can promise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULTS = {
    "PREPAY_COMMAND_RETRY_BASE": 30,
    "PREPAY_COMMAND_RETRY_CAP": 1800,
    "PREPAY_COMMAND_MAX_ATTEMPTS": 10,
    "PREPAY_COMMAND_OVERDUE_AFTER": 600,
}


def setting(name: str) -> int:
    """A whole number ≥ 1 from the settings, else the environment, else :data:`DEFAULTS`.

    Raises ImproperlyConfigured for anything else (the poller and the daemon refuse to start).
    """
    raw = getattr(settings, name, None)
    if raw is None:
        raw = os.environ.get(name, "").strip() or DEFAULTS[name]
    try:
        value = int(str(raw))
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise ImproperlyConfigured(f"{name} must be at least 1, not {value}")
    return value


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with a cap and a maximum number of attempts."""

    base: timedelta = timedelta(seconds=DEFAULTS["PREPAY_COMMAND_RETRY_BASE"])
    cap: timedelta = timedelta(seconds=DEFAULTS["PREPAY_COMMAND_RETRY_CAP"])
    max_attempts: int = DEFAULTS["PREPAY_COMMAND_MAX_ATTEMPTS"]

    def __post_init__(self) -> None:
        if self.base <= timedelta(0) or self.cap < self.base or self.max_attempts < 1:
            raise ValueError("a retry policy needs 0 < base ≤ cap and at least one attempt")

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt (1-based): base × 2^(attempts−1) ≤ cap."""
        n = max(attempts, 1) - 1
        if n >= 40:  # 2^40 × any base is past any sensible cap; avoid huge numbers
            return self.cap
        return min(self.base * (2**n), self.cap)

    @classmethod
    def from_settings(cls) -> RetryPolicy:
        base = setting("PREPAY_COMMAND_RETRY_BASE")
        cap = max(setting("PREPAY_COMMAND_RETRY_CAP"), base)
        return cls(timedelta(seconds=base), timedelta(seconds=cap), setting("PREPAY_COMMAND_MAX_ATTEMPTS"))


def overdue_after() -> timedelta:
    """How long a command may stay unconfirmed before it is overdue (``PREPAY_COMMAND_OVERDUE_AFTER``)."""
    return timedelta(seconds=setting("PREPAY_COMMAND_OVERDUE_AFTER"))
