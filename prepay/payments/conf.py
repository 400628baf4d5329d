"""Payment settings, from the environment (read at use, so tests may change them with ``settings``).

PREPAY_PAYMENTS_SIMULATOR     "1" lets simulated providers take (pretend) payments: the demo and
                              tests only; off by default, so a simulated provider sells nothing
PREPAY_PAYMENT_MINUTES        how long an online order may be paid (default 30)
PREPAY_PUBLIC_URL             the address providers and customers reach (settings.py); the
                              notification address is built on it
"""

from __future__ import annotations

import os
from datetime import timedelta

from django.conf import settings


def simulator_enabled() -> bool:
    value = getattr(settings, "PREPAY_PAYMENTS_SIMULATOR", None)
    if value is None:
        value = os.environ.get("PREPAY_PAYMENTS_SIMULATOR", "0")
    return str(value).lower() in {"1", "true", "yes", "on"}


def order_lifetime() -> timedelta:
    minutes = getattr(settings, "PREPAY_PAYMENT_MINUTES", None) or os.environ.get(
        "PREPAY_PAYMENT_MINUTES", "30"
    )
    return timedelta(minutes=max(1, int(minutes)))


def public_url(path: str, request: object = None) -> str:
    """``path`` made absolute on PREPAY_PUBLIC_URL, else on the request's host, else left as is."""
    base = str(getattr(settings, "PREPAY_PUBLIC_URL", "") or "").rstrip("/")
    if base:
        return base + path
    if request is not None and hasattr(request, "build_absolute_uri"):
        return str(request.build_absolute_uri(path))
    return path
