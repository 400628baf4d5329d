"""Thermal receipt printing (ESC/POS) from the counter, configured per vending point.

A point's printer is one of (``VendingPoint.printer_connection``):

* ``network`` — a printer on the LAN (``host:port``, usually port 9100): the server opens a TCP
  connection and sends the bytes;
* ``server_usb`` — a USB printer attached to the server, written through its device file
  (``/dev/usb/lp0``, Linux usblp);
* ``bridge`` — a USB printer at the cashier's PC: the counter page sends the bytes through the local
  card bridge (``prepay cardbridge --printer …``) and reports the outcome back here.

Which copy is printed: the first print of a receipt is the **original**; every later one is
"REPRINT n", counted by ``do_reprint_receipt`` when it is asked for. A print that failed before a
byte reached the printer printed nothing: trying again prints the same copy (the original again, or
the same REPRINT n without counting it twice). Every attempt is a :class:`ReceiptPrint` row with its
outcome, audited (``receipt.print``).

Network I/O never happens inside a database transaction: :func:`start_print` reserves the copy
(under the receipt's row lock) and renders its bytes, the bytes are sent, then :func:`finish_print`
records the outcome.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prepay.audit.actions import record_event
from prepay.common.actions import locked
from prepay.common.errors import ActionError
from prepay.tenancy.scoping import require_any
from prepay.vending.models import PrinterConnection, PrintStatus, Receipt, ReceiptPrint
from prepay.vending.printer_address import check_address as check_address  # the form's check, kept here
from prepay.vending.printer_address import split_address

#: seconds to connect to / write to a network printer before giving up
TIMEOUT = 5.0
#: a print still "sending" after this long is taken as failed (the process died meanwhile)
STALE = timedelta(seconds=60)


class PrinterError(Exception):
    """Sending failed; ``sent`` bytes had reached the connection before the failure."""

    def __init__(self, message: str, sent: int = 0) -> None:
        super().__init__(message)
        self.sent = sent


def send_network(address: str, data: bytes, *, timeout: float = TIMEOUT) -> int:
    """Send ``data`` to the ESC/POS printer at ``host:port``; returns the bytes sent."""
    host, port = split_address(address)
    try:
        conn = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise PrinterError(
            _("The printer %(p)s does not answer (%(e)s).") % {"p": address, "e": exc}
        ) from None
    sent = 0
    with conn:
        try:
            view = memoryview(data)
            while sent < len(data):
                sent += conn.send(view[sent:])
            conn.shutdown(socket.SHUT_WR)
        except OSError as exc:
            raise PrinterError(
                _("The printer %(p)s stopped taking data (%(e)s).") % {"p": address, "e": exc}, sent
            ) from None
    return sent


def send_device(path: str, data: bytes) -> int:
    """Write ``data`` to a USB printer's device file (``/dev/usb/lp0``); returns the bytes written."""
    try:
        with open(path, "wb", buffering=0) as device:
            written = device.write(data) or 0
    except OSError as exc:
        raise PrinterError(
            _("The printer %(p)s cannot be written (%(e)s).") % {"p": path, "e": exc}
        ) from None
    return written


@dataclass(frozen=True)
class PrintOrder:
    """What :func:`start_print` reserved: the job row and the bytes to send."""

    job: ReceiptPrint
    data: bytes


def printer_of(receipt: Receipt) -> tuple[str, str, int]:
    """(connection, address, paper width) of the receipt's vending point; refuses without a printer."""
    point = receipt.point
    if not point.printer_connection:
        raise ActionError(
            "no_printer",
            _("Vending point %(p)s has no receipt printer; an administrator sets one in the back office.")
            % {"p": point.name},
        )
    return point.printer_connection, point.printer.strip(), point.paper_width


def next_copy(receipt: Receipt) -> int | None:
    """The copy the next print is: 0 (the original), ``receipt.prints`` again (the last counted
    re-print, when its attempt printed nothing), or None: a new re-print must be counted first."""
    jobs = ReceiptPrint.objects.filter(receipt=receipt)
    original_taken = (
        receipt.prints > 0 or jobs.filter(copy=0).exclude(status=PrintStatus.FAILED, sent=0).exists()
    )
    if not original_taken:
        return 0
    last = jobs.order_by("-pk").first()
    if (
        last is not None
        and last.copy == receipt.prints > 0
        and last.status == PrintStatus.FAILED
        and last.sent == 0
    ):
        return receipt.prints
    return None


def _may_print(actor: Any, receipt: Receipt) -> None:
    site = receipt.point.site
    require_any(actor, ("vend.sell", "account.lifecycle"), group_id=site.group_id, site_id=site.pk)


@transaction.atomic
def start_print(*, receipt: Receipt, actor: Any, request: Any = None) -> PrintOrder:
    """Reserve the next copy of ``receipt`` for the point's printer and render its bytes.

    Refuses ``no_printer`` (none configured) and ``printing`` (another print of this receipt is
    still being sent). A new re-print is counted here, with ``do_reprint_receipt``.
    """
    from prepay.vending.actions import do_reprint_receipt
    from prepay.vending.receipts import receipt_context

    receipt = locked(Receipt, receipt.pk, "point__site")
    _may_print(actor, receipt)
    connection, address, width = printer_of(receipt)
    busy = ReceiptPrint.objects.filter(
        receipt=receipt, status=PrintStatus.SENDING, created_at__gt=timezone.now() - STALE
    )
    if busy.exists():
        raise ActionError("printing", _("This receipt is being printed; wait for the printer."))
    copy = next_copy(receipt)
    if copy is None:
        receipt = do_reprint_receipt(receipt=receipt, actor=actor)
        copy = receipt.prints
    ctx = receipt_context(receipt, request=request)
    ctx["reprint"] = copy
    ctx["reprint_label"] = _("REPRINT %(n)s") % {"n": copy} if copy else ""
    from prepay.vending.escpos import render_escpos

    data = render_escpos(ctx, width_mm=width)
    where = address if connection != PrinterConnection.BRIDGE else "bridge"
    job = ReceiptPrint.objects.create(
        receipt=receipt,
        copy=copy,
        printer=where[:120],
        width=width,
        size=len(data),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    return PrintOrder(job, data)


@transaction.atomic
def finish_print(*, job: ReceiptPrint, actor: Any, sent: int, error: str = "") -> ReceiptPrint:
    """Record how the print ``job`` ended: printed (no ``error``) or failed with ``sent`` bytes out.

    Refuses ``not_printing`` for a job already finished (a second report of the same print)."""
    job = locked(ReceiptPrint, job.pk, "receipt__point__site")
    _may_print(actor, job.receipt)
    if job.status != PrintStatus.SENDING:
        raise ActionError("not_printing", _("This print has already been recorded."))
    job.status = PrintStatus.FAILED if error else PrintStatus.PRINTED
    job.sent = max(0, min(int(sent), job.size))
    job.error = error[:200]
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "sent", "error", "finished_at"])
    site = job.receipt.point.site
    record_event(
        actor=actor,
        verb="receipt.print",
        obj=job.receipt,
        group_id=site.group_id,
        site_id=site.pk,
        after={
            "receipt": job.receipt.code,
            "copy": job.copy,
            "printer": job.printer,
            "status": job.status,
            "bytes": job.size,
            "sent": job.sent,
            "error": job.error,
        },
    )
    return job


def do_print_receipt(*, receipt: Receipt, actor: Any, request: Any = None) -> ReceiptPrint:
    """Print ``receipt`` on its point's network or server-USB printer; returns the recorded job.

    A printer that fails is not a refusal: the job is recorded as failed (with the reason) and
    returned. Refuses ``no_printer`` and ``printing`` (see :func:`start_print`) and ``bridge_printer``
    for a printer at the counter PC, which the counter page prints to through the card bridge.
    """
    connection, address, _width = printer_of(Receipt.objects.select_related("point").get(pk=receipt.pk))
    if connection == PrinterConnection.BRIDGE:
        raise ActionError(
            "bridge_printer",
            _("This counter's printer is attached to the counter PC: print from the counter page."),
        )
    order = start_print(receipt=receipt, actor=actor, request=request)
    try:
        if connection == PrinterConnection.NETWORK:
            sent = send_network(address, order.data)
        else:
            sent = send_device(address, order.data)
    except PrinterError as exc:
        return finish_print(job=order.job, actor=actor, sent=exc.sent, error=str(exc))
    return finish_print(job=order.job, actor=actor, sent=sent)
