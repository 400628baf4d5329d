"""Credit that must still reach a meter: the clerks' list of pending deliveries and one delivery's
page (the token to enter, the card to write, the remote credit on its way), with retry and re-issue.

After a meter replacement (换表) the clerk lands on the delivery's page: the carried credit's token(s)
and receipt, or the card write, or the remote credit's progress.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from prepay.common.errors import ActionError, PermissionDenied
from prepay.counter.access import may, require_somewhere, visible
from prepay.counter.views.panels import card_panel, print_context, receipt_links
from prepay.vending import deliveries as d
from prepay.vending.models import CardImage, CreditDelivery, Delivery, Receipt

STAFF = ("account.lifecycle", "vend.sell")


def _delivery(request: HttpRequest, pk: int) -> CreditDelivery:
    require_somewhere(request.user, *STAFF)
    rows = CreditDelivery.objects.select_related(
        "account__site", "account__customer", "meter__model", "command", "card"
    )
    return visible(request.user, rows, pk)


def delivery_context(request: HttpRequest, delivery: CreditDelivery) -> dict[str, Any]:
    receipt = Receipt.objects.filter(delivery=delivery).select_related("point").first()
    state = d.state_of(delivery)
    return {
        "delivery": delivery,
        "state": state,
        "state_label": d.state_label(state),
        "kind_label": Delivery(delivery.kind).label,
        "unit": "m³" if delivery.account.utility == "water" else "kWh",
        "tokens": list(delivery.tokens.order_by("pk")),
        "receipt": receipt,
        "links": receipt_links(receipt),
        "printing": print_context(receipt),
        "cardwrite": card_panel(delivery.card),
        "bridge_url": settings.PREPAY_CARDBRIDGE_URL,
        "can_act": any(may(request.user, c, delivery.account) for c in STAFF),
    }


@login_required
def delivery(request: HttpRequest, pk: int) -> HttpResponse:
    """One delivery: what the clerk hands over or does next."""
    found = _delivery(request, pk)
    return render(request, "counter/delivery.html", delivery_context(request, found))


@login_required
def pending(request: HttpRequest) -> HttpResponse:
    """Every delivery of the user's sites still waiting, and IC-card purchases not written yet."""
    require_somewhere(request.user, *STAFF)
    waiting = d.pending_deliveries(CreditDelivery.objects.for_user(request.user))  # type: ignore[attr-defined]
    cards = d.unwritten_cards(CardImage.objects.for_user(request.user))  # type: ignore[attr-defined]
    rows = [
        d.row(x)
        for x in waiting.select_related("account__customer", "meter", "command", "card").order_by(
            "created_at"
        )
    ]
    return render(
        request,
        "counter/deliveries.html",
        {
            "rows": rows,
            "cards": cards.select_related(
                "meter", "vend__account", "adjustment__account", "delivery__account"
            ).order_by("created_at")[:200],
        },
    )


def _act(request: HttpRequest, pk: int, run: Any, done: str) -> HttpResponse:
    found = _delivery(request, pk)
    back = reverse("counter:delivery", args=[found.pk])
    try:
        run(found)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc)) from None
    except ActionError as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(back)
    messages.success(request, done)
    return HttpResponseRedirect(back)


@login_required
@require_POST
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Try again to deliver (``do_retry_delivery``): issue the token, build the card, resend."""
    return _act(
        request,
        pk,
        lambda x: d.do_retry_delivery(delivery=x, actor=request.user),
        _("Delivery tried again; see the result below."),
    )


@login_required
@require_POST
def reissue(request: HttpRequest, pk: int) -> HttpResponse:
    """A lost token of carried credit: the same token again (``do_reissue_delivery_tokens``)."""
    return _act(
        request,
        pk,
        lambda x: d.do_reissue_delivery_tokens(delivery=x, actor=request.user),
        _("The same token was issued again; nothing new was generated."),
    )
