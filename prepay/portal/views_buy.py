"""Buying online from the portal: amount → review (the price, nothing written) → order → pay.

The review prices the purchase exactly as the sale will (``quote_vend``), so a refusal (closed
account, tariff minimum, a sale limit) is shown before anybody pays. Confirming creates the order
(``do_create_order``, idempotent on the form's key) and asks the provider how to pay; the order page
then shows the QR code or the provider's link, and the token once the provider's notification has
sold it.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from prepay.common.amounts import parse_amount
from prepay.common.errors import ActionError
from prepay.customers.models import Account
from prepay.payments import actions as payments
from prepay.payments.conf import public_url
from prepay.payments.models import PaymentOrder
from prepay.portal import queries
from prepay.portal.actions import actor_of
from prepay.portal.auth import customer_required
from prepay.portal.forms import PRESETS, BuyForm
from prepay.vending.actions import quote_vend
from prepay.vending.receipts import qr_svg


def _review(request: HttpRequest, form: BuyForm, account: Account) -> HttpResponse | None:
    """The priced review of a valid form, or None after adding the refusal to the form."""
    provider = form.providers[form.cleaned_data["provider"]]
    try:
        amount = parse_amount(form.cleaned_data["amount"], _("The amount"), places=2)
        quote = quote_vend(account=account, actor=provider.user, amount=amount)
    except ActionError as exc:
        form.add_error("amount", str(exc))
        return None
    context = {"account": account, "form": form, "quote": quote, "provider": provider, "amount": amount}
    return render(request, "portal/review.html", context)


def _confirm(request: HttpRequest, form: BuyForm, account: Account) -> HttpResponse | None:
    provider = form.providers[form.cleaned_data["provider"]]
    try:
        order = payments.do_create_order(
            account=account,
            provider=provider,
            amount=form.cleaned_data["amount"],
            actor=actor_of(request.portal),  # type: ignore[attr-defined]
            request_key=form.cleaned_data.get("request_key") or "",
        )
    except ActionError as exc:
        form.add_error("amount", str(exc))
        return None
    return redirect(reverse("portal:order", args=[order.number]))


@customer_required
@require_http_methods(["GET", "POST"])
def buy(request: HttpRequest, number: str) -> HttpResponse:
    acc = queries.account_of(request.portal.customer, number)  # type: ignore[attr-defined]
    providers = payments.providers_for(acc)
    form = BuyForm(request.POST if request.method == "POST" else None, providers=providers)
    if request.method == "POST" and form.is_valid():
        step = _confirm if request.POST.get("step") == "confirm" else _review
        response = step(request, form, acc)
        if response is not None:
            return response
    status = 400 if form.errors else 200
    context = {"account": acc, "form": form, "presets": PRESETS, "providers": providers}
    return render(request, "portal/buy.html", context, status=status)


def _checkout(request: HttpRequest, order: PaymentOrder) -> str:
    """Ask the provider how to pay (once); the refusal in words, or ""."""
    if order.checkout_url or order.status != "created":
        return ""
    try:
        payments.start_checkout(
            order,
            notify_url=public_url(reverse("payments:notify", args=[order.provider_id]), request),
            return_url=public_url(reverse("portal:order", args=[order.number]), request),
        )
    except ActionError as exc:
        return str(exc)
    return ""


@customer_required
@require_GET
def order(request: HttpRequest, number: str) -> HttpResponse:
    """The order: how to pay while unpaid; the token, receipt and message once sold."""
    found = queries.order_of(request.portal.customer, number)  # type: ignore[attr-defined]
    problem = _checkout(request, found)
    found.refresh_from_db()
    purchase = None
    if found.vend_id is not None:
        purchase = next(iter(queries.purchases(found.account, vend_id=found.vend_id)), None)
    context = {
        "order": found,
        "account": found.account,
        "problem": problem,
        "qr": qr_svg(found.checkout_url) if found.checkout_kind == "qr" and found.checkout_url else "",
        "purchase": purchase,
    }
    return render(request, "portal/order.html", context)


@customer_required
@require_GET
def order_status(request: HttpRequest, number: str) -> JsonResponse:
    """``{"status": …}`` for the order page's script, which reloads the page once it changes."""
    found = queries.order_of(request.portal.customer, number)  # type: ignore[attr-defined]
    return JsonResponse({"status": found.status})
