"""Online payment fixtures: the vending ``shop`` plus an online vending point and a simulated provider
(fresh keys per test), with the payment simulator switched on, and helpers that post signed
notifications to the real endpoint."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.test import Client

from prepay.payments.actions import do_add_provider, do_create_order
from prepay.payments.adapters.simulated import SimulatedWallet, new_credentials
from prepay.payments.credentials import unseal
from prepay.payments.models import PaymentOrder, PaymentProvider
from prepay.portal.actions import CustomerActor
from prepay.vending.models import PointKind, VendingPoint
from tests.vending.conftest import CTSA01_DK, Shop, shop, store

__all__ = ["CTSA01_DK", "Pay", "Shop", "pay", "shop", "store"]


@dataclass
class Pay:
    shop: Shop
    point: VendingPoint
    provider: PaymentProvider
    wallet: SimulatedWallet
    http: Client

    def order(self, amount: str = "50.00", account: Any = None, **kw: Any) -> PaymentOrder:
        acc = account or self.shop.account
        return do_create_order(
            account=acc, provider=self.provider, amount=amount, actor=CustomerActor(acc.customer), **kw
        )

    def signed(self, order: PaymentOrder, **kw: Any) -> tuple[dict[str, str], bytes]:
        """A genuine notification that ``order`` was paid (``amount``, ``state``, ``transaction_id``)."""
        return self.wallet.notification(self.wallet.transaction(order, **kw))

    def post(self, headers: dict[str, str], body: bytes, provider: PaymentProvider | None = None) -> Any:
        target = provider or self.provider
        return self.http.post(
            f"/payments/notify/{target.pk}/", data=body, content_type="application/json", headers=headers
        )


def add_online_point(site: Any, code: str = "wx") -> VendingPoint:
    return VendingPoint.objects.create(
        site=site, code=code, name=f"Online {code}", kind=PointKind.ONLINE, receipt_prefix=code.upper()
    )


def add_simulated(world: Any, point: VendingPoint, code: str = "sim", site: Any = None) -> PaymentProvider:
    config, values = new_credentials()
    return do_add_provider(
        group=point.site.group,
        site=site,
        code=code,
        name="Simulated Pay",
        kind="simulated",
        point=point,
        config=config,
        secret_values=values,
        actor=world.admin,
    )


@pytest.fixture
def pay(shop: Shop, settings: Any) -> Pay:
    settings.PREPAY_PAYMENTS_SIMULATOR = True
    point = add_online_point(shop.world.a1.site)
    provider = add_simulated(shop.world, point)
    wallet = SimulatedWallet(provider, unseal(provider))
    return Pay(shop, point, provider, wallet, Client(enforce_csrf_checks=True))


class _Server(BaseHTTPRequestHandler):
    """A provider's API on 127.0.0.1: answers are given by the test (``reply``), requests recorded."""

    received: list[tuple[str, dict[str, str], bytes]] = []
    reply: Any = None

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).received.append((self.path, dict(self.headers), body))
        status, headers, answer = type(self).reply(self.path, dict(self.headers), body)
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def provider_api() -> Iterator[tuple[str, type[_Server]]]:
    """(base URL, handler class) of a local stand-in for a provider's API."""
    handler = type("Handler", (_Server,), {"received": [], "reply": None})
    server = HTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_port}", handler
    server.shutdown()
    server.server_close()


def json_body(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


FIFTY = Decimal("50.00")
