"""Provider-facing pages, mounted at ``/payments/``.

* ``notify/<provider id>/`` — where a provider POSTs its notifications. CSRF-exempt (the provider
  cannot hold our token) and trusted only after :func:`handle_notification` has checked the
  provider's signature; anything else is refused and changes nothing.
* ``sim/<order>/`` — the simulated provider's "wallet" page (demo and tests, only with
  ``PREPAY_PAYMENTS_SIMULATOR=1``): Pay sends the signed notification through the same handler.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from prepay.payments import conf
from prepay.payments.actions import handle_notification
from prepay.payments.adapters.simulated import SimulatedWallet
from prepay.payments.choices import OrderStatus, ProviderKind
from prepay.payments.credentials import unseal
from prepay.payments.models import PaymentOrder, PaymentProvider

MAX_NOTIFICATION_BYTES = 64 * 1024


@csrf_exempt
@require_POST
def notify(request: HttpRequest, provider_id: int) -> HttpResponse:
    """A provider's notification: signature checked, then acted on exactly once per order."""
    provider = PaymentProvider.objects.filter(pk=provider_id).first()
    if provider is None:
        raise Http404
    body = request.body
    if len(body) > MAX_NOTIFICATION_BYTES:
        return HttpResponse(status=413)
    reply = handle_notification(provider, request.headers, body)
    return HttpResponse(reply.body, status=reply.status, content_type=reply.content_type)


def _simulated_order(number: str) -> PaymentOrder:
    if not conf.simulator_enabled():
        raise Http404
    return get_object_or_404(
        PaymentOrder.objects.select_related("provider", "account"),
        number=number,
        provider__kind=ProviderKind.SIMULATED,
    )


@require_http_methods(["GET", "POST"])
def simulated(request: HttpRequest, number: str) -> HttpResponse:
    """The simulated wallet: shows the order; Pay (POST, CSRF-protected) has the simulated provider
    sign a WeChat Pay notification and hand it to the notification handler, then returns to the
    portal's order page, as the real wallet would."""
    order = _simulated_order(number)
    if request.method == "POST" and order.status == OrderStatus.CREATED:
        wallet = SimulatedWallet(order.provider, unseal(order.provider))
        headers, body = wallet.notification(wallet.transaction(order))
        handle_notification(order.provider, headers, body)
        return redirect(reverse("portal:order", args=[order.number]))
    return render(request, "payments/simulated.html", {"order": order})
