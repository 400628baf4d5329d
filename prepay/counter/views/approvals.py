"""The approvals queue: reversals and refunds awaiting a decision (nobody decides their own)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from prepay.counter.access import require_somewhere
from prepay.vending.models import Reversal, ReversalStatus


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    """Requests awaiting approval on the sites where the user may approve, oldest first."""
    require_somewhere(request.user, "reversal.approve")
    pending = (
        Reversal.objects.for_user(request.user, "reversal.approve")
        .filter(status=ReversalStatus.REQUESTED)
        .select_related("account__customer", "vend", "requested_by")
        .order_by("requested_at")
    )
    return render(request, "counter/approvals.html", {"pending": pending})
