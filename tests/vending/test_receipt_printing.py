"""Printing receipts on a counter's thermal printer (prepay/vending/printing.py): the original first,
then counted re-prints; a printer that fails is recorded. Printers are real: a TCP listener on an
ephemeral port, and a file standing in for a USB device."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from prepay.audit.models import AuditEvent
from prepay.vending import printing
from prepay.vending.models import PrinterConnection, PrintStatus, Receipt, ReceiptPrint
from tests.helpers import refused
from tests.ports import free_port
from tests.vending.printer import TcpPrinter, tcp_printer
from tests.vending.test_vend import sell


@pytest.fixture
def printer() -> Iterator[TcpPrinter]:
    with tcp_printer() as p:
        yield p


def receipt_at(shop: Any, connection: str, address: str = "", width: int = 58) -> Receipt:
    shop.point.printer_connection, shop.point.printer, shop.point.paper_width = connection, address, width
    shop.point.save()
    return Receipt.objects.get(vend=sell(shop))


class PrintReceiptTestCase:
    def test_it_prints_the_original_and_then_counted_reprints(self, shop, printer):
        receipt = receipt_at(shop, PrinterConnection.NETWORK, printer.address)
        first = printing.do_print_receipt(receipt=receipt, actor=shop.world.cashier)
        second = printing.do_print_receipt(receipt=receipt, actor=shop.world.cashier)
        original, copy = printer.wait_for(2)
        assert (first.copy, first.status, first.sent) == (0, PrintStatus.PRINTED, len(original))
        assert b"REPRINT" not in original and receipt.code.encode() in original
        assert (second.copy, second.status) == (1, PrintStatus.PRINTED) and b"*** REPRINT 1 ***" in copy
        assert original.endswith(b"\x1dVA\x00") or b"\x1dV" in original  # fed and cut
        receipt.refresh_from_db()
        assert receipt.prints == 1
        assert AuditEvent.objects.filter(verb="receipt.reprint").count() == 1
        assert [e.after["copy"] for e in AuditEvent.objects.filter(verb="receipt.print").order_by("id")] == [
            0,
            1,
        ]

    def test_it_lays_out_for_the_points_paper(self, shop, printer):
        receipt = receipt_at(shop, PrinterConnection.NETWORK, printer.address, width=80)
        job = printing.do_print_receipt(receipt=receipt, actor=shop.world.cashier)
        data = printer.wait_for(1)[0]
        assert job.width == 80 and b"-" * 48 in data

    def test_it_records_a_printer_that_does_not_answer_and_prints_the_original_later(self, shop, printer):
        receipt = receipt_at(shop, PrinterConnection.NETWORK, f"127.0.0.1:{free_port()}")
        failed = printing.do_print_receipt(receipt=receipt, actor=shop.world.cashier)
        assert (failed.status, failed.sent, failed.copy) == (PrintStatus.FAILED, 0, 0)
        assert "does not answer" in failed.error
        assert AuditEvent.objects.get(verb="receipt.print").after["status"] == "failed"
        shop.point.printer = printer.address
        shop.point.save()
        again = printing.do_print_receipt(receipt=receipt, actor=shop.world.cashier)
        assert again.copy == 0 and b"REPRINT" not in printer.wait_for(1)[0]

    def test_a_reprint_that_printed_nothing_is_printed_again_without_counting_it_twice(self, shop, printer):
        receipt = receipt_at(shop, PrinterConnection.NETWORK, printer.address)
        printing.do_print_receipt(receipt=receipt, actor=shop.world.cashier)
        shop.point.printer = f"127.0.0.1:{free_port()}"
        shop.point.save()
        failed = printing.do_print_receipt(receipt=receipt, actor=shop.world.cashier)
        assert (failed.copy, failed.status) == (1, PrintStatus.FAILED)
        shop.point.printer = printer.address
        shop.point.save()
        again = printing.do_print_receipt(receipt=receipt, actor=shop.world.cashier)
        receipt.refresh_from_db()
        assert again.copy == 1 and receipt.prints == 1 and b"REPRINT 1" in printer.wait_for(2)[1]

    def test_it_prints_to_a_usb_printer_on_the_server(self, shop, tmp_path):
        device = tmp_path / "lp0"
        device.write_bytes(b"")
        receipt = receipt_at(shop, PrinterConnection.SERVER_USB, str(device))
        job = printing.do_print_receipt(receipt=receipt, actor=shop.world.cashier)
        assert job.status == PrintStatus.PRINTED and device.read_bytes().startswith(b"\x1b@")
        missing = receipt_at(shop, PrinterConnection.SERVER_USB, str(tmp_path / "gone" / "lp9"))
        assert (
            printing.do_print_receipt(receipt=missing, actor=shop.world.cashier).status == PrintStatus.FAILED
        )

    def test_it_refuses_without_a_printer_and_for_a_printer_at_the_counter_pc(self, shop):
        receipt = receipt_at(shop, PrinterConnection.NONE)
        error = refused("no_printer", printing.do_print_receipt, receipt=receipt, actor=shop.world.cashier)
        assert "back office" in str(error)
        receipt = receipt_at(shop, PrinterConnection.BRIDGE)
        refused("bridge_printer", printing.do_print_receipt, receipt=receipt, actor=shop.world.cashier)

    def test_it_refuses_a_second_print_while_the_first_is_being_sent(self, shop, printer):
        receipt = receipt_at(shop, PrinterConnection.NETWORK, printer.address)
        printing.start_print(receipt=receipt, actor=shop.world.cashier)
        refused("printing", printing.do_print_receipt, receipt=receipt, actor=shop.world.cashier)

    @pytest.mark.parametrize("who", ["finance", "auditor", "clerk_a2", "clerk_b"])
    def test_it_refuses_wrong_roles_and_outsiders(self, shop, printer, who):
        receipt = receipt_at(shop, PrinterConnection.NETWORK, printer.address)
        refused("forbidden", printing.do_print_receipt, receipt=receipt, actor=getattr(shop.world, who))
        assert printer.jobs == []


class FinishPrintTestCase:
    """The counter page reports a print it sent through the card bridge (a USB printer at the PC)."""

    def test_it_records_the_outcome_once(self, shop):
        receipt = receipt_at(shop, PrinterConnection.BRIDGE)
        order = printing.start_print(receipt=receipt, actor=shop.world.cashier)
        assert order.job.printer == "bridge" and order.data.startswith(b"\x1b@")
        job = printing.finish_print(job=order.job, actor=shop.world.cashier, sent=len(order.data))
        assert job.status == PrintStatus.PRINTED and job.sent == job.size
        refused("not_printing", printing.finish_print, job=job, actor=shop.world.cashier, sent=0, error="x")

    @pytest.mark.parametrize("who", ["auditor", "clerk_b"])
    def test_it_refuses_wrong_roles_and_outsiders(self, shop, who):
        order = printing.start_print(
            receipt=receipt_at(shop, PrinterConnection.BRIDGE), actor=shop.world.cashier
        )
        refused("forbidden", printing.finish_print, job=order.job, actor=getattr(shop.world, who), sent=1)
        assert ReceiptPrint.objects.get().status == PrintStatus.SENDING


class PrinterAddressTestCase:
    @pytest.mark.parametrize(
        "connection,address,ok",
        [
            ("network", "192.168.1.50:9100", True),
            ("network", "printer.lan:9100", True),
            ("network", "[fe80::1]:9100", True),
            ("network", "192.168.1.50", False),
            ("network", "192.168.1.50:99999", False),
            ("network", "a b:9100", False),
            ("server_usb", "/dev/usb/lp0", True),
            ("server_usb", "lp0", False),
            ("bridge", "", True),
            ("", "", True),
        ],
    )
    def test_it_checks_the_address_for_the_connection(self, connection, address, ok):
        assert (printing.check_address(connection, address) == "") is ok


class PrinterSetUpTestCase:
    """An administrator sets a counter's printer in the back office (Vending points)."""

    def data(self, shop: Any, **kw: Any) -> dict[str, Any]:
        p = shop.point
        return {
            "site": p.site_id,
            "code": p.code,
            "name": p.name,
            "kind": p.kind,
            "active": "on",
            "receipt_prefix": p.receipt_prefix,
            "credit_limit": "0",
            "printer_connection": "network",
            "printer": "192.168.1.50:9100",
            "paper_width": "80",
        } | kw

    def url(self, shop: Any) -> str:
        return f"/admin/vending/vendingpoint/{shop.point.pk}/change/"

    def test_it_sets_the_printer_and_paper_audited(self, shop, client):
        client.force_login(shop.world.admin)
        assert client.post(self.url(shop), self.data(shop)).status_code == 302
        shop.point.refresh_from_db()
        assert (shop.point.printer_connection, shop.point.printer, shop.point.paper_width) == (
            "network",
            "192.168.1.50:9100",
            80,
        )
        assert AuditEvent.objects.filter(verb="vendingpoint.update", actor=shop.world.admin).exists()

    def test_it_refuses_an_address_that_does_not_suit_the_connection(self, shop, client):
        client.force_login(shop.world.admin)
        response = client.post(self.url(shop), self.data(shop, printer="192.168.1.50"))
        assert response.status_code == 200 and b"host:port" in response.content
        shop.point.refresh_from_db()
        assert shop.point.printer_connection == "" and shop.point.printer == ""

    def test_it_keeps_the_receipt_counter(self, shop, client):
        sell(shop)
        client.force_login(shop.world.admin)
        client.post(self.url(shop), self.data(shop))
        shop.point.refresh_from_db()
        assert shop.point.receipt_counter == 1

    @pytest.mark.parametrize("who,status", [("cashier", 403), ("clerk", 403), ("clerk_b", 404)])
    def test_it_refuses_other_roles_and_outsiders(self, shop, client, who, status):
        client.force_login(getattr(shop.world, who))
        assert client.post(self.url(shop), self.data(shop)).status_code == status
        shop.point.refresh_from_db()
        assert shop.point.printer == ""
