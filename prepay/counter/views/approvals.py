"""Reversals and refunds: request (cashier / clerk), approve or reject (finance / admin, never one's own)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from prepay.counter.access import require_on, require_somewhere, visible
from prepay.counter.followup import pending_adjustments
from prepay.counter.forms import DecisionForm, RefundRequestForm, ReversalRequestForm, new_key
from prepay.counter.views.base import call_action, form_page
from prepay.customers.models import Account
from prepay.vending import actions as vending
from prepay.vending.models import Reversal, ReversalStatus, Vend


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
    context = {"pending": pending, "adjustments": pending_adjustments(request.user), "form": DecisionForm()}
    return render(request, "counter/approvals.html", context)


@login_required
@require_POST
def decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    """Approve or reject one request; a refusal (e.g. one's own request) shows as a message."""
    reversal = visible(request.user, Reversal.objects.select_related("account__site"), pk)
    require_on(request.user, "reversal.approve", reversal)
    return run_decision(
        request,
        decision,
        approve=lambda note: vending.do_approve_reversal(reversal=reversal, actor=request.user, note=note),
        reject=lambda note: vending.do_reject_reversal(reversal=reversal, actor=request.user, note=note),
    )


#: the decision words the approvals URLs know; anything else is refused, never read as a rejection
DECISIONS = ("approve", "reject")


def run_decision(
    request: HttpRequest, decision: str, *, approve: Callable[[str], Any], reject: Callable[[str], Any]
) -> HttpResponse:
    """Carry out an approve / reject decision with the posted note; back to the queue with the outcome
    (a refusal, e.g. one's own request, as an error message).

    A decision word other than ``approve`` or ``reject`` changes nothing: the queue is shown again
    with status 400 and a message naming the word.
    """
    if decision not in DECISIONS:
        messages.error(
            request,
            _("Unknown decision %(word)s: use approve or reject. Nothing was decided.")
            % {"word": decision[:40]},
        )
        response = queue(request)
        response.status_code = 400
        return response
    form = DecisionForm(request.POST)
    form.is_valid()
    note = form.cleaned_data.get("note", "")
    action, done = (approve, _("Approved.")) if decision == "approve" else (reject, _("Rejected."))
    ok, _r = call_action(form, lambda: action(note))
    if ok:
        messages.success(request, done)
    else:
        messages.error(request, " ".join(str(e) for e in form.non_field_errors()))
    return HttpResponseRedirect(reverse("counter:approvals"))


@login_required
def request_reversal(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask for a vend to be reversed (冲正): the reason and whether the token reached the meter."""
    vend = visible(request.user, Vend.objects.select_related("account__site"), pk)
    require_on(request.user, "reversal.request", vend)
    back = reverse("counter:vend", args=[vend.pk])
    return form_page(
        request,
        form_class=ReversalRequestForm,
        form_kwargs={},
        initial={"idempotency_key": new_key("reversal")},
        title=_("Request a reversal"),
        run=lambda d: vending.do_request_reversal(
            vend=vend,
            actor=request.user,
            reason=d["reason"],
            token_entered=d["token_entered"],
            idempotency_key=d["idempotency_key"],
        ),
        success=_("Reversal requested; it waits for approval."),
        done=lambda _r: back,
        cancel_url=back,
        subject=vend,
        testid="reversal-request",
    )


@login_required
def request_refund(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask for (part of) an account's balance to be paid back (退费)."""
    account = visible(request.user, Account.objects.select_related("site"), pk)
    require_on(request.user, "reversal.request", account)
    back = reverse("counter:account", args=[account.pk])
    return form_page(
        request,
        form_class=RefundRequestForm,
        form_kwargs={},
        initial={"idempotency_key": new_key("refund")},
        title=_("Request a refund"),
        run=lambda d: vending.do_request_refund(account=account, actor=request.user, **d),
        success=_("Refund requested; it waits for approval."),
        done=lambda _r: back,
        cancel_url=back,
        subject=account,
        testid="refund-request",
    )
