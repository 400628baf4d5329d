"""A card bridge with a simulated reader on an ephemeral loopback port, and a small HTTP client that
sends the headers a browser would (Origin, Host, the pairing code)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from prepay.cardbridge.readers import SimulatedReader
from prepay.cardbridge.server import BridgeConfig, BridgeServer, start_in_thread

ORIGIN = "http://prepay.test:8000"
CODE = "ABCD-EFGH-JKLM"


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class Bridge:
    server: BridgeServer
    reader: SimulatedReader

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        origin: str | None = ORIGIN,
        code: str | None = CODE,
        host: str | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        sent = {"Host": host or self.host} | (headers or {})
        if origin is not None:
            sent["Origin"] = origin
        if code is not None:
            sent["Authorization"] = f"Bearer {code}"
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            sent["Content-Type"] = content_type
        try:
            conn.request(method, path, body=data, headers=sent)
            r = conn.getresponse()
            raw = r.read()
            return Answer(
                r.status, json.loads(raw) if raw else None, {k.lower(): v for k, v in r.getheaders()}
            )
        finally:
            conn.close()


@pytest.fixture
def bridge(tmp_path: Any) -> Iterator[Bridge]:
    reader = SimulatedReader()
    config = BridgeConfig(
        origins=frozenset({ORIGIN}), code=CODE, reader=reader, printer=str(tmp_path / "lp0")
    )
    server, thread = start_in_thread(config)
    try:
        yield Bridge(server, reader)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
