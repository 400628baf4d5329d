"""The DTU listener under abuse, over real loopback sockets: what a peer can make it hold is bounded.

Memory is judged from the listener's own accounting (``buffered_bytes()``, ``stats()``), never from
the process size or the clock.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from prepay.domain.protocols import dlt645
from prepay.meters.drivers.base import DriverError
from prepay.meters.drivers.limits import MAX_DTU_PACKET
from tests.drivers.wire import (
    ADDRESS,
    Dtu,
    FakeClock,
    is_reply,
    listener,
    read_reply,
    read_request,
    until,
)


def run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


@pytest.fixture
def wire_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="prepay.wire")
    return caplog


def lines(caplog: pytest.LogCaptureFixture) -> str:
    for record in caplog.records:
        assert record.exc_info is None, "a limit must log one line, not a traceback"
    return "\n".join(r.getMessage() for r in caplog.records)


class RegistrationLimitsTestCase:
    def test_it_closes_a_registration_packet_that_never_ends(self, wire_log):
        async def scenario() -> None:
            async with listener() as server:
                dtu = await Dtu.connect(server)
                sent = 0
                while sent < 64 * 1024 and await dtu.send(b"A" * 16):
                    sent += 16
                    assert server.buffered_bytes() <= MAX_DTU_PACKET
                    await asyncio.sleep(0)
                    if not server.connections:
                        break
                assert await dtu.closed_by_peer() == b""
                await until(lambda: server.stats()["connections"] == 0, "the connection is forgotten")
                assert server.buffered_bytes() == 0

        run(scenario())
        assert f"registration packet longer than {MAX_DTU_PACKET} bytes" in lines(wire_log)

    def test_it_closes_a_registration_packet_that_is_not_an_id(self, wire_log):
        async def scenario() -> None:
            async with listener() as server:
                dtu = await Dtu.connect(server, b"\x00\x01\xff junk\n")
                await dtu.closed_by_peer()
                assert not server.holders

        run(scenario())
        assert "invalid registration packet" in lines(wire_log)

    def test_it_closes_a_connection_that_never_registers(self, wire_log):
        async def scenario() -> None:
            # the real clock and the listener's own sweeper: the timeout is a limit here
            async with listener(clock=time.monotonic, register_timeout=0.2) as server:
                dtu = await Dtu.connect(server)
                await dtu.closed_by_peer()
                await until(lambda: not server.connections, "the connection is forgotten")

        run(scenario())
        assert "no registration packet within 0.2 s" in lines(wire_log)

    def test_it_closes_a_dtu_silent_for_the_idle_timeout(self, wire_log):
        async def scenario() -> None:
            clock = FakeClock()
            async with listener(clock, idle_timeout=60, heartbeat_timeout=30) as server:
                dtu = await Dtu.connect(server, b"DTU-IDLE\n")
                await server.wait_for("DTU-IDLE")
                clock.advance(59)
                server.sweep()
                assert server.holder("DTU-IDLE") is not None
                await dtu.send(b"DTU-IDLE\n")  # a heartbeat: the silence starts again
                await until(lambda: server.holder("DTU-IDLE").heartbeats == 1, "heartbeat seen")
                clock.advance(59)
                server.sweep()
                assert server.holder("DTU-IDLE") is not None
                clock.advance(1)
                server.sweep()
                await dtu.closed_by_peer()
                assert server.holder("DTU-IDLE") is None

        run(scenario())
        assert "silent for 60 s (idle timeout)" in lines(wire_log)


class StreamLimitsTestCase:
    def test_it_closes_an_endless_stream_between_requests(self, wire_log):
        async def scenario() -> None:
            async with listener(max_buffer=1024) as server:
                dtu = await Dtu.connect(server, b"DTU-NOISE\n")
                await server.wait_for("DTU-NOISE")
                for _ in range(1000):
                    if not await dtu.send(b"\x00" * 100):
                        break
                    await asyncio.sleep(0)
                    assert server.buffered_bytes() <= MAX_DTU_PACKET
                    if server.holder("DTU-NOISE") is None:
                        break
                await dtu.closed_by_peer()
                assert server.holder("DTU-NOISE") is None

        run(scenario())
        assert "bytes of noise between requests (limit 1024)" in lines(wire_log)

    def test_it_does_not_count_heartbeats_as_noise(self):
        async def scenario() -> None:
            async with listener(max_buffer=256) as server:
                dtu = await Dtu.connect(server, b"DTU-BEAT\n")
                await server.wait_for("DTU-BEAT")
                for _ in range(100):  # 900 bytes of heartbeats, far over the noise budget
                    await dtu.send(b"DTU-BEAT\r\n")
                await until(lambda: server.holder("DTU-BEAT").heartbeats == 100, "every heartbeat seen")
                assert server.holder("DTU-BEAT") is not None

        run(scenario())

    def test_it_closes_an_endless_stream_instead_of_an_answer(self, wire_log):
        async def scenario() -> None:
            async with listener(max_buffer=2048) as server:
                dtu = await Dtu.connect(server, b"DTU-FLOOD\n")
                await server.wait_for("DTU-FLOOD")
                link = server.link("DTU-FLOOD", dlt645.FrameReader)
                asking = asyncio.create_task(link.request(read_request(), is_reply))
                async with asyncio.timeout(5):
                    await dtu.reader.read(4096)
                while not asking.done() and await dtu.send(b"\x00\x68\x11" * 100):
                    assert server.buffered_bytes() <= 2048 + 300
                    await asyncio.sleep(0)
                with pytest.raises(DriverError) as err:
                    await asking
                assert err.value.code == "protocol" and "connection closed" in err.value.message
                await dtu.closed_by_peer()

        run(scenario())
        assert "bytes without the answer (limit 2048)" in lines(wire_log)

    def test_it_closes_a_frame_whose_length_byte_is_too_big(self, wire_log):
        async def scenario() -> None:
            async with listener(dlt645_max_frame=100) as server:
                dtu = await Dtu.connect(server, b"DTU-HUGE\n")
                await server.wait_for("DTU-HUGE")
                link = server.link("DTU-HUGE", dlt645.FrameReader)
                asking = asyncio.create_task(link.request(read_request(), is_reply))
                big = read_reply(data_len=200)
                await dtu.answer(big[:20])  # the header announces 212 bytes; only 20 are sent
                with pytest.raises(DriverError) as err:
                    await asking
                assert err.value.code == "protocol"
                await dtu.closed_by_peer()

        run(scenario())
        assert "a DL/T 645 frame announces 212 bytes (limit 100)" in lines(wire_log)

    def test_it_closes_a_complete_frame_over_the_limit(self, wire_log):
        async def scenario() -> None:
            async with listener(dlt645_max_frame=100) as server:
                dtu = await Dtu.connect(server, b"DTU-BIG\n")
                await server.wait_for("DTU-BIG")
                link = server.link("DTU-BIG", dlt645.FrameReader)
                asking = asyncio.create_task(link.request(read_request(), is_reply))
                await dtu.answer(read_reply(data_len=150))  # whole and valid, but too big
                with pytest.raises(DriverError) as err:
                    await asking
                assert err.value.code == "protocol"

        run(scenario())
        assert "a DL/T 645 frame of 162 bytes (limit 100)" in lines(wire_log)

    def test_it_answers_within_the_limits_and_keeps_serving_after_an_abuser(self):
        async def scenario() -> None:
            async with listener(max_buffer=1024) as server:
                good = await Dtu.connect(server, b"DTU-GOOD\n")
                bad = await Dtu.connect(server, b"DTU-BAD\n")
                await server.wait_for("DTU-GOOD")
                await server.wait_for("DTU-BAD")
                await bad.send(b"\x00" * 5000)
                await bad.closed_by_peer()
                link = server.link("DTU-GOOD", dlt645.FrameReader)
                asking = asyncio.create_task(link.request(read_request(), is_reply))
                request = await good.answer(read_reply())
                frame = await asking
                assert frame is not None and frame.address == ADDRESS
                assert request.endswith(read_request()[4:])
                assert server.stats()["connections"] == 1

        run(scenario())


class ConnectionLimitsTestCase:
    def test_it_refuses_connections_over_the_total_limit(self, wire_log):
        async def scenario() -> None:
            async with listener(max_connections=5) as server:
                dtus = [await Dtu.connect(server) for _ in range(5)]
                await until(lambda: len(server.connections) == 5, "five admitted")
                extra = [await Dtu.connect(server) for _ in range(20)]
                for d in extra:
                    assert await d.closed_by_peer() == b""
                assert server.stats()["connections"] == 5
                assert server.stats()["refused"] == {"max_connections": 20}
                dtus[0].close()
                await until(lambda: len(server.connections) == 4, "a slot is free again")
                late = await Dtu.connect(server, b"DTU-LATE\n")
                await server.wait_for("DTU-LATE")
                assert late.writer is not None

        run(scenario())
        assert "5 connections open (limit max_connections=5)" in lines(wire_log)

    def test_it_refuses_connections_over_the_per_address_limit(self):
        async def scenario() -> None:
            async with listener(max_per_address=3) as server:
                held = [await Dtu.connect(server, local="127.0.0.1") for _ in range(3)]
                await until(lambda: len(server.connections) == 3, "three admitted")
                fourth = await Dtu.connect(server, local="127.0.0.1")
                await fourth.closed_by_peer()
                other = await Dtu.connect(server, b"DTU-OTHER\n", local="127.0.0.2")
                await server.wait_for("DTU-OTHER")
                assert server.per_address == {"127.0.0.1": 3, "127.0.0.2": 1}
                assert server.refused == {"max_per_address": 1}
                other.close()
                assert len(held) == 3

        run(scenario())

    def test_it_holds_at_most_a_packet_per_half_registered_connection(self):
        async def scenario() -> None:
            async with listener(max_connections=200, max_per_address=200) as server:
                dtus = [await Dtu.connect(server, b"X" * (MAX_DTU_PACKET - 1)) for _ in range(200)]
                await until(lambda: server.buffered_bytes() == 200 * (MAX_DTU_PACKET - 1), "all held")
                assert server.stats()["connections"] == 200
                for d in dtus:
                    await d.send(b"X")  # the packet is now too long without its line end
                await until(lambda: not server.connections, "all closed")
                assert server.buffered_bytes() == 0

        run(scenario())
