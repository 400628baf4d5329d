"""The receipt screen's print panel: F9 prints the original on the counter's thermal printer, then
counted re-prints, labelled as such; a USB printer at the counter PC goes through the card bridge."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from prepay.vending.models import PrintStatus, Receipt, ReceiptPrint
from tests.counter.conftest import client_for
from tests.vending.printer import TcpPrinter, tcp_printer
from tests.vending.test_vend import sell


@pytest.fixture
def printer() -> Iterator[TcpPrinter]:
    with tcp_printer() as p:
        yield p


def at_printer(shop, connection: str = "network", address: str = "") -> Receipt:
    shop.point.printer_connection, shop.point.printer = connection, address
    shop.point.save()
    return Receipt.objects.get(vend=sell(shop))


class ReceiptScreenTestCase:
    def test_it_offers_the_original_then_a_counted_reprint(self, shop, printer):
        receipt = at_printer(shop, address=printer.address)
        c = client_for(shop.world.cashier)
        screen = c.get(f"/counter/vends/{receipt.vend_id}/").content.decode()
        assert "Print receipt (F9)" in screen and 'id="print-receipt"' in screen  # browser original too
        assert "Re-print in the browser: counted as “REPRINT 1”" in screen
        panel = c.post(f"/counter/receipts/{receipt.code}/print/", HTTP_HX_REQUEST="true").content.decode()
        assert "Re-print: counted, prints “REPRINT 1” (F9)" in panel and "original · Printed" in panel
        assert 'id="print-receipt"' not in panel  # after the original, every copy is counted
        assert b"REPRINT" not in printer.wait_for(1)[0]

    def test_it_explains_a_counter_without_printer(self, shop):
        receipt = at_printer(shop, "")
        screen = client_for(shop.world.cashier).get(f"/counter/vends/{receipt.vend_id}/").content.decode()
        assert 'id="no-thermal"' in screen and 'id="print-thermal"' not in screen


class PrintReceiptViewTestCase:
    def test_it_prints_and_shows_the_outcome(self, shop, printer):
        receipt = at_printer(shop, address=printer.address)
        c = client_for(shop.world.cashier)
        c.post(f"/counter/receipts/{receipt.code}/print/", HTTP_HX_REQUEST="true")
        panel = c.post(f"/counter/receipts/{receipt.code}/print/", HTTP_HX_REQUEST="true").content.decode()
        assert b"*** REPRINT 1 ***" in printer.wait_for(2)[1]
        assert "REPRINT 1 · Printed" in panel and "Re-print: counted, prints “REPRINT 2” (F9)" in panel

    def test_it_shows_a_refusal_in_the_panel(self, shop):
        receipt = at_printer(shop, "")
        response = client_for(shop.world.cashier).post(
            f"/counter/receipts/{receipt.code}/print/", HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 400 and b"no receipt printer" in response.content
        assert not ReceiptPrint.objects.exists()

    @pytest.mark.parametrize("who,status", [("finance", 403), ("clerk_a2", 404), ("clerk_b", 404)])
    def test_it_refuses_wrong_roles_and_outsiders(self, shop, printer, who, status):
        receipt = at_printer(shop, address=printer.address)
        response = client_for(getattr(shop.world, who)).post(f"/counter/receipts/{receipt.code}/print/")
        assert response.status_code == status and not ReceiptPrint.objects.exists()


class BridgePrintViewTestCase:
    def test_it_hands_out_the_bytes_and_records_the_outcome(self, shop):
        receipt = at_printer(shop, "bridge")
        c = client_for(shop.world.cashier)
        screen = c.get(f"/counter/vends/{receipt.vend_id}/").content.decode()
        assert 'data-bridge-print="1"' in screen and "USB at this PC" in screen
        order = c.post(f"/counter/receipts/{receipt.code}/print/start/").json()
        data = base64.b64decode(order["data"])
        assert order["copy"] == 0 and data.startswith(b"\x1b@")
        panel = c.post(order["finish"], {"sent": str(len(data))}).content.decode()
        assert "original · Printed" in panel and ReceiptPrint.objects.get().status == PrintStatus.PRINTED

    def test_a_bridge_failure_leaves_the_original_to_print(self, shop):
        receipt = at_printer(shop, "bridge")
        c = client_for(shop.world.cashier)
        order = c.post(f"/counter/receipts/{receipt.code}/print/start/").json()
        panel = c.post(order["finish"], {"sent": "0", "error": "offline"}).content.decode()
        assert "Failed — offline" in panel and "Print receipt (F9)" in panel
        again = c.post(order["finish"], {"sent": "0"})
        assert again.status_code == 400 and b"already been recorded" in again.content

    def test_it_refuses_a_server_side_print_to_a_bridge_printer(self, shop):
        receipt = at_printer(shop, "bridge")
        response = client_for(shop.world.cashier).post(
            f"/counter/receipts/{receipt.code}/print/", HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 400 and b"attached to the counter PC" in response.content

    @pytest.mark.parametrize("who,status", [("auditor", 403), ("clerk_b", 404)])
    def test_it_refuses_wrong_roles_and_outsiders(self, shop, who, status):
        receipt = at_printer(shop, "bridge")
        order = client_for(shop.world.cashier).post(f"/counter/receipts/{receipt.code}/print/start/").json()
        c = client_for(getattr(shop.world, who))
        assert c.post(f"/counter/receipts/{receipt.code}/print/start/").status_code == status
        assert c.post(order["finish"], {"sent": "1"}).status_code == status
        assert ReceiptPrint.objects.get().status == PrintStatus.SENDING


class BrowserReprintTestCase:
    def test_it_counts_the_copy_and_opens_the_print_view(self, shop):
        receipt = at_printer(shop, "")
        response = client_for(shop.world.cashier).post(f"/counter/receipts/{receipt.code}/reprint/")
        receipt.refresh_from_db()
        assert response.status_code == 302 and response["Location"].endswith("/print/?print=1")
        assert receipt.prints == 1

    @pytest.mark.parametrize("who,status", [("auditor", 403), ("clerk_b", 404)])
    def test_it_refuses_wrong_roles_and_outsiders(self, shop, who, status):
        receipt = at_printer(shop, "")
        assert (
            client_for(getattr(shop.world, who))
            .post(f"/counter/receipts/{receipt.code}/reprint/")
            .status_code
            == status
        )
        receipt.refresh_from_db()
        assert receipt.prints == 0
