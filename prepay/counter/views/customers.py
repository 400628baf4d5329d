"""A customer's own page: who they are and every account they hold, with its meter and balance.

Readable by anyone who may see the customer's site (404 otherwise); the "Open account" button shows
where the user may open one. One query for the customer, one for the accounts (meter and balance
annotated), whatever the number of accounts.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from prepay.counter.access import may, require_somewhere, visible
from prepay.customers.models import Account, Customer
from prepay.vending.ledger import with_meter_and_balance


@login_required
def customer(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer's details and accounts (utility, unit, meter, balance, status)."""
    require_somewhere(request.user, "view")
    found = visible(request.user, Customer.objects.select_related("site", "customer_type"), pk)
    accounts = with_meter_and_balance(
        Account.objects.for_user(request.user).filter(customer=found).select_related("unit__building")
    ).order_by("status", "utility", "number")
    context = {
        "customer": found,
        "accounts": list(accounts),
        "can_open": may(request.user, "account.lifecycle", found),
        "can_sell": may(request.user, "vend.sell", found),
    }
    return render(request, "counter/customer.html", context)
