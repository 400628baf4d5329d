"""Receipt pages: print view (A4 / A5 / 58 / 80 mm), PDF, ESC/POS download, public verification.

Print view and downloads need a signed-in user who may see the account's site; anybody else gets a
404 (not 403), so receipt codes of other sites cannot be probed. The verification page is public and
shows only the essentials with the customer's name masked. None of these pages write: re-prints are
counted by ``do_reprint_receipt``.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from prepay.tenancy.scoping import can
from prepay.vending import receipts
from prepay.vending.models import Receipt


def _visible_receipt(request: HttpRequest, code: str) -> Receipt:
    """The receipt ``code`` if the user may view the account's site, else Http404."""
    receipt = (
        Receipt.objects.select_related(
            "vend__account__site", "reversal__account__site", "delivery__account__site"
        )
        .filter(code=code)
        .first()
    )
    if receipt is None:
        raise Http404
    account = receipts.account_of(receipt)
    if not can(request.user, "view", group_id=account.site.group_id, site_id=account.site_id):
        raise Http404
    return receipt


@require_GET
@login_required
def print_view(request: HttpRequest, code: str) -> HttpResponse:
    """The printable receipt; ``?paper=a4|a5|58|80`` picks the layout, ``?print=1`` opens the print dialog."""
    receipt = _visible_receipt(request, code)
    html = receipts.render_receipt_html(
        receipt,
        paper=request.GET.get("paper", ""),
        autoprint=request.GET.get("print") == "1",
        request=request,
    )
    return HttpResponse(html)


@require_GET
@login_required
def pdf(request: HttpRequest, code: str) -> HttpResponse:
    """The receipt as a PDF download (``?paper=`` as the print view)."""
    receipt = _visible_receipt(request, code)
    data = receipts.render_receipt_pdf(receipt, paper=request.GET.get("paper", ""), request=request)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="receipt-{receipt.code}.pdf"'
    return response


@require_GET
@login_required
def escpos(request: HttpRequest, code: str) -> HttpResponse:
    """Raw ESC/POS bytes for a thermal printer; ``?width=58`` (default) or ``?width=80``;
    ``?qr=raster`` prints the QR code as an image for printers without the native QR command."""
    receipt = _visible_receipt(request, code)
    width = 80 if request.GET.get("width", "").removesuffix("mm") == "80" else 58
    native = request.GET.get("qr") != "raster"
    data = receipts.render_receipt_escpos(receipt, width_mm=width, native_qr=native, request=request)
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="receipt-{receipt.code}-{width}mm.bin"'
    return response


@require_GET
def verify(request: HttpRequest, code: str) -> HttpResponse:
    """Public: is the receipt ``code`` with signature ``?s=`` genuine? Shows the essentials only.

    An unknown code and a wrong signature both answer "not genuine" (status 200 either way, so the
    page gives nothing away about which codes exist).
    """
    receipt = Receipt.objects.filter(code=code).first()
    genuine = receipt is not None and receipts.check_signature(receipt, request.GET.get("s", ""))
    context: dict[str, object] = {"code": code, "genuine": genuine}
    if genuine:
        assert receipt is not None
        context["r"] = receipts.receipt_context(receipt, request=request)
    response = render(request, "vending/receipt_verify.html", context)
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response
