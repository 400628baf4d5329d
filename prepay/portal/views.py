"""The customer portal (``/portal/``): sign in with a one-time code, then balance, consumption,
purchases with tokens, bills and fees, receipts; buying is in views_buy.py.

Thin views: parse the form, find the row through the signed-in customer (404 otherwise), call one
action, render a ``templates/portal/`` page (mobile first, extending ``portal/base.html``).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from prepay.common.errors import ActionError
from prepay.portal import actions, queries
from prepay.portal.actions import Throttled
from prepay.portal.auth import (
    clear_session_cookie,
    customer_required,
    no_store,
    portal_session,
    set_session_cookie,
)
from prepay.portal.forms import CodeForm, SignInForm
from prepay.vending.receipts import receipt_context
from prepay.web.lockouts import client_address

PAGE = 20


@no_store
@require_http_methods(["GET", "POST"])
def signin(request: HttpRequest) -> HttpResponse:
    """Step 1: the account or meter number. Whatever was typed, the answer is the code form (a code
    went to the phone or e-mail on file if the number is a customer's)."""
    if portal_session(request) is not None:
        return redirect(reverse("portal:home"))
    form = SignInForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        identifier = form.cleaned_data["identifier"]
        try:
            pending = actions.do_request_code(identifier=identifier, address=client_address(request))
        except Throttled as exc:
            form.add_error(None, str(exc))
            return render(request, "portal/signin.html", {"form": form}, status=exc.status)
        actions.send_codes(pending, via=form.cleaned_data["via"], language=get_language() or "en")
        code_form = CodeForm(initial={"identifier": identifier})
        return render(request, "portal/code.html", {"form": code_form, "identifier": identifier})
    return render(request, "portal/signin.html", {"form": form}, status=400 if form.errors else 200)


@no_store
@require_POST
def verify(request: HttpRequest) -> HttpResponse:
    """Step 2: the code. Right: a session cookie and the customer's accounts."""
    form = CodeForm(request.POST)
    if not form.is_valid():
        return render(request, "portal/code.html", {"form": form}, status=400)
    try:
        _session, key = actions.do_sign_in(
            identifier=form.cleaned_data["identifier"],
            code=form.cleaned_data["code"],
            address=client_address(request),
        )
    except ActionError as exc:
        form.add_error("code", str(exc))
        return render(
            request,
            "portal/code.html",
            {"form": form, "identifier": form.cleaned_data["identifier"]},
            status=exc.status,
        )
    response = redirect(reverse("portal:home"))
    set_session_cookie(response, key)
    return response


@no_store
@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    session = portal_session(request)
    if session is not None:
        actions.do_sign_out(session=session)
    response = redirect(reverse("portal:signin"))
    clear_session_cookie(response)
    return response


@customer_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    accounts = list(queries.accounts_of(request.portal.customer))  # type: ignore[attr-defined]
    if len(accounts) == 1:
        return redirect(reverse("portal:account", args=[accounts[0].number]))
    rows = [(a, queries.credit_of(a)) for a in accounts]
    return render(request, "portal/home.html", {"rows": rows})


@customer_required
@require_GET
def account(request: HttpRequest, number: str) -> HttpResponse:
    acc = queries.account_of(request.portal.customer, number)  # type: ignore[attr-defined]
    context = {
        "account": acc,
        "credit": queries.credit_of(acc),
        "billing": queries.billing(acc),
        "purchases": queries.purchases(acc, limit=3),
        "orders": list(queries.open_orders(acc)),
        "several": queries.accounts_of(request.portal.customer).count() > 1,  # type: ignore[attr-defined]
    }
    return render(request, "portal/account.html", context)


@customer_required
@require_GET
def consumption(request: HttpRequest, number: str) -> JsonResponse:
    acc = queries.account_of(request.portal.customer, number)  # type: ignore[attr-defined]
    period = "month" if request.GET.get("period") == "month" else "day"
    return JsonResponse(queries.consumption(acc, period))


@customer_required
@require_GET
def purchases(request: HttpRequest, number: str) -> HttpResponse:
    acc = queries.account_of(request.portal.customer, number)  # type: ignore[attr-defined]
    try:
        page = max(1, min(int(request.GET.get("page", "1")), 1000))
    except ValueError:
        page = 1
    rows = queries.purchases(acc, limit=PAGE + 1, offset=(page - 1) * PAGE)
    context = {"account": acc, "purchases": rows[:PAGE], "page": page, "more": len(rows) > PAGE}
    return render(request, "portal/purchases.html", context)


@customer_required
@require_GET
def bills(request: HttpRequest, number: str) -> HttpResponse:
    acc = queries.account_of(request.portal.customer, number)  # type: ignore[attr-defined]
    return render(request, "portal/bills.html", {"account": acc, "billing": queries.billing(acc)})


@customer_required
@require_GET
def receipt(request: HttpRequest, code: str) -> HttpResponse:
    found = queries.receipt_of(request.portal.customer, code)  # type: ignore[attr-defined]
    ctx = receipt_context(found, request=request)
    return render(request, "portal/receipt.html", {**ctx, "account": found.vend.account})  # type: ignore[union-attr]
