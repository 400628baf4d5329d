"""Links that connect out (to a DTU in server mode, a gateway) apply the frame limits too.

A scripted server on a loopback ephemeral port answers every request with the bytes the test sets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from prepay.domain.protocols import cjt188, dlt645
from prepay.meters.drivers.base import DriverError, Target
from prepay.meters.drivers.limits import Limits
from prepay.meters.drivers.registry import DriverPool
from tests.drivers.test_wire_errors import ADDRESS, WATER, ScriptedServer


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    s = ScriptedServer()
    yield s
    s.close()


def reads(
    protocol: str, params: dict[str, Any], replies: list[bytes], server: ScriptedServer, **limits: Any
) -> list[Any]:
    """Read the meter once per reply (same pool, so the same link); each result or DriverError."""

    async def go() -> list[Any]:
        pool = DriverPool(timeout=0.5, retries=0, limits=Limits(**limits))
        out: list[Any] = []
        try:
            driver = pool.driver(Target(1, "M1", protocol, params))
            for reply in replies:
                server.reply = reply
                try:
                    out.append(await driver.read())
                except DriverError as exc:
                    out.append(exc)
        finally:
            await pool.close()
        return out

    return asyncio.run(go())


def dlt_reply(di: int, data_len: int) -> bytes:
    frame = dlt645.build_read_reply(ADDRESS, di, b"\x00" * 20)
    return dlt645.encode_frame(dlt645.Frame(frame.address, frame.control, frame.data.ljust(data_len, b"\0")))


class TcpLinkLimitsTestCase:
    def test_it_closes_a_dlt645_link_whose_reply_announces_an_oversize_frame(self, server, caplog):
        caplog.set_level(logging.WARNING, logger="prepay.wire")
        params = {"host": "127.0.0.1", "port": server.port, "address": ADDRESS, "prepaid": False}
        [first] = reads("dlt645", params, [dlt_reply(0x0001FF00, 240)[:30]], server, dlt645_max_frame=212)
        assert isinstance(first, DriverError) and first.code == "protocol"
        assert "announces 252 bytes (limit 212)" in first.message and "connection closed" in first.message
        assert "announces 252 bytes (limit 212)" in caplog.text

    def test_it_closes_a_cjt188_link_on_a_complete_oversize_frame(self, server):
        big = cjt188.encode_frame(cjt188.Frame(0x10, WATER, 0x81, b"\x1f\x90\x00" + b"\x00" * 150))
        params = {"host": "127.0.0.1", "port": server.port, "address": WATER}
        [first] = reads("cjt188", params, [big], server, cjt188_max_frame=141)
        assert isinstance(first, DriverError) and first.code == "protocol"
        assert "a CJ/T 188 frame of 166 bytes (limit 141)" in first.message

    def test_it_reconnects_after_closing_for_a_limit(self, server):
        params = {"host": "127.0.0.1", "port": server.port, "address": WATER}
        big = cjt188.encode_frame(cjt188.Frame(0x10, WATER, 0x81, b"\x1f\x90\x00" + b"\x00" * 150))
        silence = b""
        first, second = reads("cjt188", params, [big, silence], server, cjt188_max_frame=141)
        assert first.code == "protocol"
        assert second.code == "timeout"  # connected again and asked; the server said nothing
