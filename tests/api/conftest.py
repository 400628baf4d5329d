"""API fixtures: the vending `shop`, an API client selling as the shop's agent, and a JSON caller."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from prepay.api.actions import do_create_api_client
from prepay.vending.actions import do_topup_float
from tests.vending.conftest import CTSA01_DK, Shop, shop, store

__all__ = ["CTSA01_DK", "Api", "Shop", "api", "shop", "store"]


@dataclass
class Reply:
    status: int
    data: Any
    headers: Any


class Api:
    """Calls /api/ with a key (``Authorization: Bearer``) or a session client, returning JSON."""

    def __init__(self, key: str | None = None, client: Client | None = None) -> None:
        self.key = key
        self.http = client or Client()

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        idem: str | None = None,
        lang: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        h = dict(headers or {})
        if self.key:
            h.setdefault("Authorization", f"Bearer {self.key}")
        if idem is not None:
            h["Idempotency-Key"] = idem
        if lang:
            h["Accept-Language"] = lang
        fn = getattr(self.http, method.lower())
        if method.upper() == "GET":
            r = fn(f"/api{path}", headers=h)
        else:
            r = fn(
                f"/api{path}",
                data=json.dumps(body if body is not None else {}),
                content_type="application/json",
                headers=h,
            )
        data = json.loads(r.content) if r.content else None
        return Reply(r.status_code, data, r.headers)

    def get(self, path: str, **kw: Any) -> Reply:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("POST", path, body, **kw)


def make_client(
    shop: Shop,
    *,
    scopes: list[str],
    roles: list[str] | None = None,
    name: str = "bank",
    site: Any = "a1",
    point: Any = "agent",
) -> tuple[Any, str]:
    w = shop.world
    return do_create_api_client(
        group=w.a1.group,
        site=w.a1.site if site == "a1" else site,
        point=shop.agent if point == "agent" else point,
        name=name,
        scopes=scopes,
        roles=roles or ["cashier"],
        actor=w.admin,
    )


@pytest.fixture
def api(shop: Shop) -> Api:
    """A payment channel selling as the shop's agent (float topped up with 1000.00), all scopes."""
    do_topup_float(point=shop.agent, amount="1000.00", actor=shop.world.finance, idempotency_key="seed-float")
    _client, key = make_client(shop, scopes=["read", "quote", "vend", "reversal"])
    return Api(key)
