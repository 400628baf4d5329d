"""IC cards at the counter: write a purchase through the card bridge, read a card (插卡查询).

The browser talks to the card bridge (``prepay cardbridge`` on the cashier's PC, static/js/cardbridge.js)
and to these views: after writing, the page posts what the card read back to :func:`card_written`
(``do_confirm_card_write``); a card read at the counter is posted to :func:`card_read`, which opens the
account it belongs to. :func:`card_image` is the fallback: the sealed image as a file, for another
writing tool (then "written with another tool" confirms it by hand).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from prepay.common.errors import ActionError, PermissionDenied
from prepay.counter.access import may, require_somewhere, visible
from prepay.counter.views.panels import card_panel
from prepay.vending import deliveries
from prepay.vending.models import CardImage

WRITERS = ("vend.sell", "account.lifecycle")


def _card(request: HttpRequest, pk: int) -> CardImage:
    require_somewhere(request.user, *WRITERS)
    card = visible(request.user, CardImage.objects.select_related("meter__site"), pk)
    if not any(may(request.user, c, card) for c in WRITERS):
        raise DjangoPermissionDenied
    return card


@login_required
@require_GET
def card_image(request: HttpRequest, pk: int) -> HttpResponse:
    """The sealed purchase image as a file (the fallback when the bridge cannot write the card)."""
    card = _card(request, pk)
    response = HttpResponse(bytes.fromhex(card.image), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="card-{card.meter.serial}-{card.sequence}.bin"'
    return response


@login_required
@require_POST
def card_written(request: HttpRequest, pk: int) -> HttpResponse:
    """The purchase is on the card: ``read_back`` (hex, from the bridge) or ``by_hand=1``."""
    card = _card(request, pk)
    error = ""
    try:
        deliveries.do_confirm_card_write(
            card=card,
            actor=request.user,
            read_back=request.POST.get("read_back", ""),
            by_hand=request.POST.get("by_hand") == "1",
        )
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc)) from None
    except ActionError as exc:
        error = str(exc)
    card.refresh_from_db()
    if not getattr(request, "htmx", False):
        return HttpResponseRedirect(request.POST.get("next") or reverse("counter:sell"))
    return render(
        request,
        "counter/_card_write.html",
        {"cardwrite": card_panel(card, error=error)},
        status=400 if error else 200,
    )


@login_required
@require_POST
def card_read(request: HttpRequest) -> HttpResponse:
    """插卡查询: the account of the card the bridge read (``image``, hex) opens at the counter."""
    from prepay.counter.views.sell import SELL, card_context, page

    require_somewhere(request.user, SELL)
    try:
        reading = deliveries.read_card(image_hex=request.POST.get("image", ""), actor=request.user)
    except ActionError as exc:
        return page(request, "counter/_card_read.html", {"error": str(exc)}, status=400)
    account = reading.account
    if account is None or not may(request.user, SELL, account):
        return page(
            request, "counter/_card_read.html", {"reading": reading}, status=400 if account is None else 403
        )
    confirmed = False
    if reading.record is not None and reading.record.written_at is None:
        # the card holds exactly this purchase: that is the read-back its write was waiting for
        deliveries.do_confirm_card_write(
            card=reading.record, actor=request.user, read_back=reading.record.image
        )
        confirmed = True
    context = card_context(request, account) | {"reading": reading, "confirmed": confirmed}
    response = page(request, "counter/_card.html", context)
    response["HX-Retarget"] = "#counter-work"
    return response
