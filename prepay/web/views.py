from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from prepay.customers.models import Account, Customer
from prepay.meters.models import Meter
from prepay.tenancy.models import Site


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """What the signed-in user may reach: their memberships and the size of their sites."""
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
    }
    return render(request, "web/home.html", context)
