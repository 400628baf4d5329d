"""Line-loss and apportionment statements come from the billing app (prepay/billing/reports.py).

Until billing provides its query functions, the reports index lists the statements as not yet
available instead of failing; suspicious-account analysis (prepay/analytics) is treated the same way.
"""

from __future__ import annotations

import importlib.util
from typing import Any


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def billing_reports_available() -> bool:
    return _module_exists("prepay.billing.reports")


def suspicious_analysis_available() -> bool:
    return _module_exists("prepay.analytics")


def available() -> list[dict[str, Any]]:
    """The billing statements as index entries: ``{"slug", "title", "available"}``."""
    from django.utils.translation import gettext_lazy as _

    ok = billing_reports_available()
    return [
        {"slug": "line-loss", "title": _("Line-loss statement"), "available": ok},
        {"slug": "apportionment", "title": _("Public-area apportionment statement"), "available": ok},
    ]
