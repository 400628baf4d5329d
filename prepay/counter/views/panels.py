"""The panels of the receipt screen, shared by the sale, the deliveries and the printing views: the
card-write panel, the print panel and the receipt's print/download links."""

from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from prepay.vending import printing
from prepay.vending.models import CardImage, PrinterConnection, Receipt, ReceiptPrint


def card_panel(card: CardImage | None, *, error: str = "") -> dict[str, Any]:
    """The card-write panel's context: the purchase, whether it is on the card, where to confirm."""
    if card is None:
        return {"card": None}
    return {
        "card": card,
        "written": card.written_at is not None,
        "confirm_url": reverse("counter:card_written", args=[card.pk]),
        "image_url": reverse("counter:card_image", args=[card.pk]),
        "error": error,
    }


def print_context(receipt: Receipt | None, *, error: str = "", fresh: bool = False) -> dict[str, Any]:
    """The print panel: the point's printer, which copy the next print is, the last prints.
    ``fresh``: the receipt was issued in this request, so nothing is printed yet and the original
    is next (not looked up)."""
    if receipt is None:
        return {"receipt": None}
    point = receipt.point
    copy = 0 if fresh else printing.next_copy(receipt)
    counted = copy is None
    number = receipt.prints + 1 if counted else copy
    return {
        "receipt": receipt,
        "connection": point.printer_connection,
        "where": point.printer
        if point.printer_connection != PrinterConnection.BRIDGE
        else _("USB at this PC"),
        "width": point.paper_width,
        "original": copy == 0,
        "copy": number,
        "counted": counted,
        "reprints": receipt.prints,
        "next_reprint": receipt.prints + 1,  # what the browser's counted re-print will say
        "jobs": [] if fresh else list(ReceiptPrint.objects.filter(receipt=receipt).order_by("-pk")[:5]),
        "links": receipt_links(receipt),
        "error": error,
    }


def receipt_links(receipt: Receipt | None) -> dict[str, str]:
    """Print view and ESC/POS downloads of the receipts helper (empty until its URLs are installed)."""
    if receipt is None:
        return {}
    try:
        return {
            "print": reverse("receipts:print", args=[receipt.code]) + "?print=1",
            "escpos58": reverse("receipts:escpos", args=[receipt.code]) + "?width=58",
            "escpos80": reverse("receipts:escpos", args=[receipt.code]) + "?width=80",
            "pdf": reverse("receipts:pdf", args=[receipt.code]),
        }
    except NoReverseMatch:
        return {}
