"""Web pages outside the admin: the home page (who you are, where you work, what you can do)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from prepay.customers.models import Account, Customer
from prepay.meters.models import Meter
from prepay.tenancy.models import Site
from prepay.tenancy.scoping import reach
from prepay.web.home import panels

#: template names for the capabilities the home page links to (template variables cannot hold dots)
LINKED_CAPABILITIES = {
    "masterdata": "masterdata.change",
    "staff": "staff.manage",
    "customers": "customer.change",
    "lifecycle": "account.lifecycle",
    "meters": "meter.stock",
    "imports": "import.run",
    "sell": "vend.sell",
    "reports": "reports.view",
    "audit": "audit.view",
}


def capabilities(user: object) -> dict[str, bool]:
    """For each linked capability: does ``user`` hold it anywhere?"""
    out = {}
    for name, cap in LINKED_CAPABILITIES.items():
        r = reach(user, cap)
        out[name] = r.all or bool(r.group_ids or r.site_ids)
    return out


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """What the signed-in user does first (``prepay.web.home``: a cashier's shift, finance's takings
    today, a clerk's pending requests), then what they may reach: memberships and their sites' size.

    Everything shown is scoped with ``for_user``: a user never sees another group's sites or counts.
    """
    user = request.user
    sites = Site.objects.for_user(user).select_related("group")
    context = {
        "memberships": user.memberships.select_related("group", "site").order_by("group__code", "site__code"),  # type: ignore[union-attr]
        "sites": sites,
        "counts": {
            "customers": Customer.objects.for_user(user).count(),
            "accounts": Account.objects.for_user(user).count(),
            "meters": Meter.objects.for_user(user).count(),
        },
        "can": capabilities(user),
        "panels": panels(user),  # the work of each role the user holds: shift, takings, requests
    }
    return render(request, "web/home.html", context)
