"""The vending counter (售电): search, account card, amount, review, confirm, receipt."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from prepay.counter.access import require_somewhere


@login_required
def counter(request: HttpRequest) -> HttpResponse:
    require_somewhere(request.user, "vend.sell")
    return render(request, "counter/sell.html", {})
