"""A cashier sells to an IC-card meter and writes the card through the card bridge (simulated
reader), then reads the card at the counter and sees its account (插卡查询); a cashier prints a
receipt with one key on the counter's thermal printer (a TCP listener standing in for it) and then
a counted re-print. Real components throughout: the bridge on a loopback port, the printer socket,
Debian's Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from prepay.cardbridge.readers import SimulatedReader, read_image
from prepay.cardbridge.server import BridgeConfig, start_in_thread
from prepay.simulator.card import platform_verifier
from prepay.simulator.clock import ManualClock
from prepay.simulator.meter import VirtualMeter
from prepay.vending.models import CardImage, Receipt, Vend
from tests.vending.printer import TcpPrinter, tcp_printer

pytestmark = pytest.mark.e2e

CODE = "WXYZ-2345-ABCD"


@pytest.fixture
def card_bridge(live_server: Any, settings: Any) -> Iterator[tuple[str, SimulatedReader]]:
    """The bridge with a simulated reader, answering the live server's pages; the counter page is told
    where it is, and the Content-Security-Policy lets the page reach it."""
    reader = SimulatedReader()
    config = BridgeConfig(origins=frozenset({live_server.url}), code=CODE, reader=reader)
    server, thread = start_in_thread(config)
    settings.PREPAY_CARDBRIDGE_URL = server.url
    policy = {**settings.CONTENT_SECURITY_POLICY}
    policy["DIRECTIVES"] = {**policy["DIRECTIVES"], "connect-src": ["'self'", server.url]}
    settings.CONTENT_SECURITY_POLICY = policy
    try:
        yield server.url, reader
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def printer() -> Iterator[TcpPrinter]:
    with tcp_printer() as p:
        yield p


def sell(page: Any, live_server: Any, serial: str, amount: str) -> None:
    """Find the meter at the counter and sell ``amount`` from the keyboard."""
    page.goto(f"{live_server.url}/counter/")
    search = page.locator("#counter-search")
    search.fill(serial)
    search.press("Enter")
    value = page.locator("#sell-value")
    expect(value).to_be_focused()  # htmx has bound the form as the swap settled
    value.fill(amount)
    value.press("Enter")
    page.locator("#confirm-vend").press("Enter")
    page.wait_for_selector("#receipt")


class CardSaleThroughTheBridgeTestCase:
    def test_it_writes_the_card_and_reads_it_back_at_the_counter(
        self, e2e_db, shop, card_bridge, live_server, page, login, shot
    ):
        _url, reader = card_bridge
        account = shop.card_account()
        meter = account.installations.get().meter
        login(page, shop.world.cashier)
        sell(page, live_server, meter.serial, "30")
        card = CardImage.objects.get(vend=Vend.objects.get())
        expect(page.locator("#card-write-status")).to_be_visible()
        shot(page, "1-card-sale")

        page.keyboard.press("F8")  # not paired yet: the page asks for the bridge's code
        code = page.locator("#bridge-code")
        expect(code).to_be_visible()
        code.fill(CODE.lower())
        shot(page, "2-pairing")
        code.press("Enter")  # paired: the write runs again, is read back and confirmed
        expect(page.locator("#card-written")).to_be_visible()
        shot(page, "3-written")
        card.refresh_from_db()
        assert card.written_by == shop.world.cashier
        assert read_image(reader) == bytes.fromhex(card.image)

        page.keyboard.press("Escape")
        page.locator("#card-read-button").click()  # 插卡查询: the card in the reader opens its account
        expect(page.locator("#card-reading")).to_contain_text(meter.serial)
        expect(page.locator("#account-card")).to_contain_text(account.number)
        shot(page, "4-card-read")

        vm = VirtualMeter(serial=meter.serial, clock=ManualClock(), card_verifier=platform_verifier(meter))
        outcome = vm.insert_card(read_image(reader) or b"")  # the customer inserts the card
        assert outcome.accepted and vm.credit == card.units


class ThermalPrintTestCase:
    def test_it_prints_with_one_key_then_a_counted_reprint(
        self, e2e_db, shop, printer, live_server, page, login, shot
    ):
        shop.point.printer_connection, shop.point.printer, shop.point.paper_width = (
            "network",
            printer.address,
            58,
        )
        shop.point.save()
        login(page, shop.world.cashier)
        sell(page, live_server, shop.meter.serial, "20")
        receipt = Receipt.objects.get(vend=Vend.objects.get())
        expect(page.locator("#print-thermal")).to_have_text("Print receipt (F9)")
        shot(page, "1-receipt")

        page.keyboard.press("F9")
        expect(page.locator("#print-thermal")).to_have_text(re.compile(r"counted, prints “REPRINT 1”"))
        original = printer.wait_for(1)[0]
        assert receipt.code.encode() in original and b"REPRINT" not in original
        expect(page.locator("#print-receipt")).to_have_count(0)  # no uncounted copy once printed
        shot(page, "2-original-printed")

        page.keyboard.press("F9")
        expect(page.locator("#print-jobs")).to_contain_text("REPRINT 1")
        copy = printer.wait_for(2)[1]
        assert b"*** REPRINT 1 ***" in copy
        receipt.refresh_from_db()
        assert receipt.prints == 1 and Decimal(receipt.vend.amount) == Decimal("20.00")
        shot(page, "3-reprinted")
