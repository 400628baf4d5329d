"""Clerk screens of the issue 7 follow-up: adjustments (调剂电量 / 调账) and protected supply (保电).

* **Adjust** (clerk, ``account.lifecycle``): energy or money with a reason →
  ``do_request_adjustment``; the approvals queue decides it (``reversal.approve``, never one's own:
  the action refuses and the refusal shows as a message).
* **Protect supply** (``supply.protect``): a window and a reason → billing's ``do_protect_supply``;
  **End early** → ``do_end_protected_supply``.

Same contract as every counter page: 404 outside the user's sites, 403 without the capability
where the row lives, an action's refusal re-renders the form (400) or shows as a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from prepay.billing import actions as billing
from prepay.billing.models import ProtectedSupply
from prepay.counter.access import require_on, visible
from prepay.counter.clerk_forms import AdjustmentForm, ProtectSupplyForm
from prepay.counter.forms import DecisionForm, new_key
from prepay.counter.views.approvals import run_decision
from prepay.counter.views.base import call_action, form_page
from prepay.customers.models import Account
from prepay.vending import actions as vending
from prepay.vending.models import Adjustment

LIFECYCLE = "account.lifecycle"
APPROVE = "reversal.approve"
PROTECT = "supply.protect"


def _account_url(account: Account) -> str:
    return reverse("counter:account", args=[account.pk])


def _account(request: HttpRequest, pk: int, capability: str) -> Account:
    account = visible(request.user, Account.objects.select_related("site", "customer", "unit__building"), pk)
    require_on(request.user, capability, account)
    return account


@login_required
def adjust(request: HttpRequest, pk: int) -> HttpResponse:
    """Request an adjustment of energy or money; it waits for someone else's approval."""
    account = _account(request, pk, LIFECYCLE)
    back = _account_url(account)
    return form_page(
        request,
        form_class=AdjustmentForm,
        form_kwargs={},
        initial={"idempotency_key": new_key("adjust"), "mode": "energy"},
        title=_("Request an adjustment"),
        run=lambda d: vending.do_request_adjustment(
            account=account,
            actor=request.user,
            reason=d["reason"],
            idempotency_key=d["idempotency_key"],
            **({"energy": d["value"]} if d["mode"] == "energy" else {"amount": d["value"]}),
        ),
        success=_("Adjustment requested; it waits for approval."),
        done=lambda _r: back,
        cancel_url=back,
        subject=account,
        testid="adjust",
    )


@login_required
@require_POST
def decide_adjustment(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    """Approve (carry out) or reject an adjustment; a refusal (one's own request, …) shows as a message."""
    adjustment = visible(request.user, Adjustment.objects.select_related("account__site"), pk)
    require_on(request.user, APPROVE, adjustment)
    return run_decision(
        request,
        decision,
        approve=lambda note: vending.do_approve_adjustment(
            adjustment=adjustment, actor=request.user, note=note
        ),
        reject=lambda note: vending.do_reject_adjustment(
            adjustment=adjustment, actor=request.user, note=note
        ),
    )


@login_required
def protect(request: HttpRequest, pk: int) -> HttpResponse:
    """Start protected supply for a window: the account is never cut in it (a cut relay closes now)."""
    account = _account(request, pk, PROTECT)
    back = _account_url(account)
    return form_page(
        request,
        form_class=ProtectSupplyForm,
        form_kwargs={},
        initial=ProtectSupplyForm.defaults(),
        title=_("Protect supply"),
        run=lambda d: billing.do_protect_supply(
            account=account,
            starts_at=d["starts_at"],
            ends_at=d["ends_at"],
            reason=d["reason"],
            actor=request.user,
        ),
        success=_("Supply is protected in this window."),
        done=lambda _r: back,
        cancel_url=back,
        subject=account,
        testid="protect",
    )


@login_required
@require_POST
def end_protection(request: HttpRequest, pk: int) -> HttpResponse:
    """End a protection early; the warning rule applies again at once (it may cut)."""
    protection = visible(request.user, ProtectedSupply.objects.select_related("account__site"), pk)
    require_on(request.user, PROTECT, protection)
    form = DecisionForm(request.POST)
    form.is_valid()
    ok, _r = call_action(
        form, lambda: billing.do_end_protected_supply(protection=protection, actor=request.user)
    )
    if ok:
        messages.success(request, _("Protected supply ended."))
    else:
        messages.error(request, " ".join(str(e) for e in form.non_field_errors()))
    return HttpResponseRedirect(reverse("counter:account", args=[protection.account_id]))
