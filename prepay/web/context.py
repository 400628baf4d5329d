"""Template context shared by every page: which navigation links the user may follow.

Navigation follows roles: a cashier sees the counter and the account search, never the back office;
clerks see the account screens; finance and admins see approvals. Links are only a convenience —
every page checks the capability itself (see prepay/counter/access.py).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from prepay.messaging.queries import unread_badge
from prepay.tenancy.scoping import holds

#: capabilities that make the Django back office worth linking (everything but selling and viewing)
BACK_OFFICE = (
    "masterdata.change",
    "staff.manage",
    "customer.change",
    "account.lifecycle",
    "meter.stock",
    "audit.view",
    "reports.view",
    "keys.manage",
    "db.care",
    "token.management",
)


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {}}
    return {
        "nav": {
            "import": holds(user, "import.run"),
            "counter": holds(user, "vend.sell"),
            "accounts": holds(user, "view"),
            "customers": holds(user, "customer.change") or holds(user, "account.lifecycle"),
            "approvals": holds(user, "reversal.approve"),
            "reports": holds(user, "reports.view"),
            "analytics": any(holds(user, c) for c in ("reports.view", "account.lifecycle", "fees.manage")),
            "backoffice": user.is_staff and (user.is_superuser or any(holds(user, c) for c in BACK_OFFICE)),
            # operator messages: the link for every role; the unread count is one query, run only where
            # the top bar shows it, never for htmx fragments (the badge polls its own URL)
            "messages": holds(user, "view"),
            "unread": unread_badge(request),
        }
    }
