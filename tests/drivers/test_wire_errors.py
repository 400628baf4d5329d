"""Drivers facing bad wire input over real sockets: a clear DriverError, never anything else.

A scripted server answers every request with bytes chosen by the test (random bytes, frames from
the wrong meter, truncated or corrupted frames, abnormal replies).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prepay.domain.protocols import cjt188, dlt645
from prepay.meters.drivers.base import DriverError, RelayOp, Target
from prepay.meters.drivers.registry import DriverPool

ADDRESS = "000000000042"
WATER = "00000000000042"


class ScriptedServer:
    """Answers each received chunk with ``self.reply`` (bytes), on its own loop thread."""

    def __init__(self) -> None:
        self.reply = b""
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(5)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _start(self) -> asyncio.Server:
        return await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.read(4096):
                writer.write(self.reply)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    async def _stop(self) -> None:
        self.server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    s = ScriptedServer()
    yield s
    s.close()


def run(protocol: str, params: dict, op: str = "read") -> None:
    async def go() -> None:
        pool = DriverPool(timeout=0.05, retries=0)
        try:
            driver = pool.driver(Target(1, "M1", protocol, params))
            if op == "read":
                await driver.read()
            else:
                await driver.relay(RelayOp.TRIP)
        finally:
            await pool.close()

    asyncio.run(go())


def dlt_frames() -> st.SearchStrategy[bytes]:
    def frame(address: str, control: int, data: bytes) -> bytes:
        return dlt645.encode_frame(dlt645.Frame(address, control, data))

    good_read = dlt645.build_read_reply(ADDRESS, 0x0001FF00, b"\x00" * 20)
    return st.one_of(
        st.binary(max_size=64),
        st.builds(frame, st.just(ADDRESS), st.integers(0, 255), st.binary(max_size=40)),
        st.builds(frame, st.just("000000000043"), st.just(0x91), st.binary(max_size=24)),
        st.builds(lambda cut: dlt645.encode_frame(good_read)[:cut], st.integers(0, 30)),
        st.builds(
            lambda i, b: bytes(
                x ^ (b if j == i else 0) for j, x in enumerate(dlt645.encode_frame(good_read))
            ),
            st.integers(4, 35),
            st.integers(1, 255),
        ),
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reply=dlt_frames(), op=st.sampled_from(["read", "trip"]))
def test_dlt645_driver_raises_only_driver_errors(server: ScriptedServer, reply: bytes, op: str) -> None:
    server.reply = reply
    try:
        run("dlt645", {"host": "127.0.0.1", "port": server.port, "address": ADDRESS}, op)
    except DriverError as exc:
        assert exc.code in {"timeout", "protocol", "refused", "connect"}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    reply=st.one_of(
        st.binary(max_size=64),
        st.builds(
            lambda c, d: cjt188.encode_frame(cjt188.Frame(0x10, WATER, c, d)),
            st.integers(0, 255),
            st.binary(max_size=40),
        ),
    ),
    op=st.sampled_from(["read", "trip"]),
)
def test_cjt188_driver_raises_only_driver_errors(server: ScriptedServer, reply: bytes, op: str) -> None:
    server.reply = reply
    try:
        run("cjt188", {"host": "127.0.0.1", "port": server.port, "address": WATER}, op)
    except DriverError as exc:
        assert exc.code in {"timeout", "protocol", "refused", "connect"}


class TestReplyChecks:
    def test_a_reply_from_another_meter_is_a_protocol_error(self, server: ScriptedServer) -> None:
        other = dlt645.build_read_reply("000000000043", 0x0001FF00, b"\x00" * 20)
        server.reply = dlt645.encode_frame(other)
        with pytest.raises(DriverError) as info:
            run("dlt645", {"host": "127.0.0.1", "port": server.port, "address": ADDRESS})
        assert info.value.code == "protocol" and info.value.cause.code == "address_mismatch"

    def test_an_abnormal_reply_is_a_refusal(self, server: ScriptedServer) -> None:
        server.reply = dlt645.encode_frame(dlt645.build_error_reply(ADDRESS, 0x1C, 0x20))
        # the server answers every frame alike, so the deadline comes from the server's clock here
        params = {"host": "127.0.0.1", "port": server.port, "address": ADDRESS, "deadline_clock": "server"}
        with pytest.raises(DriverError) as info:
            run("dlt645", params, "trip")
        assert info.value.code == "refused"

    def test_silence_is_a_timeout(self, server: ScriptedServer) -> None:
        server.reply = b""
        with pytest.raises(DriverError) as info:
            run("dlt645", {"host": "127.0.0.1", "port": server.port, "address": ADDRESS})
        assert info.value.code == "timeout"

    def test_a_closed_port_is_a_connect_error(self) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with pytest.raises(DriverError) as info:
            run("dlt645", {"host": "127.0.0.1", "port": port, "address": ADDRESS})
        assert info.value.code == "connect"

    @pytest.mark.parametrize(
        "protocol,params",
        [
            ("dlt645", {"host": "127.0.0.1", "port": 1}),
            ("dlt645", {"host": "127.0.0.1", "port": 1, "address": "12AB"}),
            ("cjt188", {"host": "127.0.0.1", "port": "x", "address": WATER}),
            ("modbus_tcp", {"host": "127.0.0.1", "port": 1, "map": "no_such_map"}),
            ("mqtt", {"product_key": "p"}),
            ("smoke_signals", {}),
        ],
    )
    def test_bad_comm_params_are_config_errors(self, protocol: str, params: dict) -> None:
        with pytest.raises(DriverError) as info:
            run(protocol, params)
        assert info.value.code == "config"
