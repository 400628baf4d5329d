"""Thermal receipt printing from the receipt screen (one key: F9).

The print panel (``counter/_print_panel.html``) says which copy the next print is — the original,
or "REPRINT n", counted — and how the last prints went. A network or server-USB printer is printed to
by the server (:func:`print_receipt`, ``do_print_receipt``); a USB printer at the counter PC through
the card bridge: the page asks :func:`print_start` for the bytes, sends them to the bridge and
reports the outcome to :func:`print_finish`.
"""

from __future__ import annotations

import base64

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from prepay.common.errors import ActionError, PermissionDenied
from prepay.counter.access import require_somewhere, visible
from prepay.counter.views.panels import print_context
from prepay.vending import printing
from prepay.vending.models import Receipt, ReceiptPrint

PRINTERS = ("vend.sell", "account.lifecycle")


def _receipt(request: HttpRequest, code: str) -> Receipt:
    require_somewhere(request.user, *PRINTERS)
    return visible(request.user, Receipt.objects.select_related("point__site"), _pk_of(code))


def _pk_of(code: str) -> int:
    found = Receipt.objects.filter(code=code).values_list("pk", flat=True).first()
    return found or 0


def _panel(request: HttpRequest, receipt: Receipt, *, error: str = "", status: int = 200) -> HttpResponse:
    receipt.refresh_from_db()
    return render(
        request, "counter/_print_panel.html", {"printing": print_context(receipt, error=error)}, status=status
    )


def _refused(request: HttpRequest, receipt: Receipt, exc: ActionError) -> HttpResponse:
    if isinstance(exc, PermissionDenied):
        raise DjangoPermissionDenied(str(exc))
    return _panel(request, receipt, error=str(exc), status=400)


@login_required
@require_POST
def print_receipt(request: HttpRequest, code: str) -> HttpResponse:
    """Print the receipt on the point's network / server-USB printer; the panel shows the outcome."""
    receipt = _receipt(request, code)
    try:
        printing.do_print_receipt(receipt=receipt, actor=request.user, request=request)
    except ActionError as exc:
        return _refused(request, receipt, exc)
    if not getattr(request, "htmx", False):
        return HttpResponseRedirect(request.POST.get("next") or reverse("counter:sell"))
    return _panel(request, receipt)


@login_required
@require_POST
def print_start(request: HttpRequest, code: str) -> HttpResponse:
    """The bytes of the next copy for the card bridge's USB printer (JSON: job, data, finish URL)."""
    receipt = _receipt(request, code)
    try:
        order = printing.start_print(receipt=receipt, actor=request.user, request=request)
    except ActionError as exc:
        if isinstance(exc, PermissionDenied):
            raise DjangoPermissionDenied(str(exc)) from None
        return JsonResponse({"code": exc.code, "message": str(exc)}, status=400)
    return JsonResponse(
        {
            "job": order.job.pk,
            "copy": order.job.copy,
            "data": base64.b64encode(order.data).decode(),
            "finish": reverse("counter:print_finish", args=[order.job.pk]),
        }
    )


@login_required
@require_POST
def print_finish(request: HttpRequest, pk: int) -> HttpResponse:
    """The page reports how the bridge print went (``sent``, ``error``); answers the print panel."""
    require_somewhere(request.user, *PRINTERS)
    job = visible(request.user, ReceiptPrint.objects.select_related("receipt__point__site"), pk)
    try:
        sent = int(request.POST.get("sent", "0") or 0)
    except ValueError:
        sent = 0
    try:
        printing.finish_print(
            job=job, actor=request.user, sent=sent, error=request.POST.get("error", "")[:200]
        )
    except ActionError as exc:
        return _refused(request, job.receipt, exc)
    return _panel(request, job.receipt)


@login_required
@require_POST
def reprint(request: HttpRequest, code: str) -> HttpResponse:
    """Count a re-print (``do_reprint_receipt``), then open the browser's print view ("REPRINT n")."""
    from prepay.vending.actions import do_reprint_receipt

    receipt = _receipt(request, code)
    try:
        do_reprint_receipt(receipt=receipt, actor=request.user)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc)) from None
    return HttpResponseRedirect(reverse("receipts:print", args=[receipt.code]) + "?print=1")
