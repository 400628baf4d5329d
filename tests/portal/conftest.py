"""Portal fixtures: the payment ``pay`` world (shop, simulated provider), an SMS gateway on a real local
socket that records what it is asked to send, the site's SMS channel, and a customer with a phone
and an e-mail address. ``portal.sign_in(client)`` signs in like a person, reading the code the
gateway received."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.test import Client

from prepay.notify.models import Channel
from tests.payments.conftest import CTSA01_DK, Pay, Shop, pay, shop, store

__all__ = ["CTSA01_DK", "Pay", "Portal", "Shop", "gateway", "pay", "portal", "shop", "store"]


class _Gateway(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true, "id": "sms-1"}')

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[tuple[str, type[_Gateway]]]:
    handler = type("Gateway", (_Gateway,), {"received": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_port}/sms", handler
    server.shutdown()
    server.server_close()


@dataclass
class Portal:
    pay: Pay
    sms: type[_Gateway]
    channel: Channel

    @property
    def account(self) -> Any:
        return self.pay.shop.account

    def last_code(self) -> str:
        found = re.search(r"\b(\d{6})\b", self.sms.received[-1]["text"])
        assert found, self.sms.received[-1]
        return found.group(1)

    def ask(self, client: Client, identifier: str | None = None, **kw: Any) -> Any:
        data = {"identifier": identifier or self.account.number, "via": "sms"}
        return client.post("/portal/signin/", data, **kw)

    def enter(self, client: Client, code: str, identifier: str | None = None, **kw: Any) -> Any:
        data = {"identifier": identifier or self.account.number, "code": code}
        return client.post("/portal/signin/code/", data, **kw)

    def sign_in(self, client: Client | None = None, identifier: str | None = None) -> Client:
        client = client or Client()
        assert self.ask(client, identifier).status_code == 200
        r = self.enter(client, self.last_code(), identifier)
        assert r.status_code == 302, r.content.decode()[:500]
        return client


@pytest.fixture
def portal(pay: Pay, gateway: Any, settings: Any) -> Portal:
    """Codes are sent before the answer here (``PREPAY_PORTAL_SEND_INLINE``), so a test reads them at
    once; test_code_sending.py covers the background sending."""
    settings.PREPAY_PORTAL_SEND_INLINE = True
    url, handler = gateway
    w = pay.shop.world.a1
    channel = Channel.objects.create(group=w.group, site=w.site, kind="sms", name="SMS", config={"url": url})
    customer = pay.shop.account.customer
    customer.phone, customer.email = "13812345678", "wang@example.cn"
    customer.save()
    return Portal(pay, handler, channel)
