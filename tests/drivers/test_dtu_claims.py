"""Who holds a DTU id on the listener: a live holder keeps it, a dead one is taken over, loudly.

Real loopback sockets; the listener's clock is a :class:`FakeClock`, so "silent for 90 s" and
"held for 300 s" are decided by the test, not by waiting.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import pytest

from prepay.domain.protocols import dlt645
from prepay.meters.drivers.base import DriverError, RelayOp, Target
from prepay.meters.drivers.dialin import CLAIM_REFUSED, TAKEOVER
from prepay.meters.drivers.dlt645 import Dlt645Driver
from prepay.meters.drivers.limits import MAX_DTU_ID
from tests.drivers.wire import ADDRESS, Dtu, FakeClock, listener, read_reply, until

HOLD = 300
HEARTBEAT = 90


def run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


def driver(server: object, dtu_id: str) -> Dlt645Driver:
    link = server.link(dtu_id, dlt645.FrameReader)  # type: ignore[attr-defined]
    # the scripted DTU answers one frame per command: the 0x1C deadline from the server's clock
    # (the meter-clock read before a command is covered in tests/telemetry/test_meter_clock.py)
    params = {"address": ADDRESS, "dtu": dtu_id, "prepaid": False, "deadline_clock": "server"}
    target = Target(1, "M1", "dlt645", params)
    return Dlt645Driver(target, link)


def ack() -> bytes:
    return dlt645.encode_frame(dlt645.build_ack(ADDRESS, dlt645.Function2007.REMOTE_CONTROL))


async def received(dtu: Dtu) -> bytes:
    """What a connection got before the listener closed it."""
    return await dtu.closed_by_peer()


def controls(raw: bytes) -> set[int]:
    return {f.control for f in dlt645.FrameReader().feed(raw)}


class LiveHolderTestCase:
    def test_it_refuses_a_second_connection_while_the_holder_is_alive(self, caplog):
        caplog.set_level(logging.WARNING, logger="prepay.wire")

        async def scenario() -> None:
            clock = FakeClock()
            async with listener(clock, dispute_hold=HOLD, heartbeat_timeout=HEARTBEAT) as server:
                owner = await Dtu.connect(server, b"DTU-A\n")
                await server.wait_for("DTU-A")
                holder = server.holder("DTU-A")
                clock.advance(HOLD + 1)  # an established holder, heard from just now
                await owner.send(b"DTU-A\n")
                await until(lambda: holder.heartbeats == 1, "heartbeat seen")
                impostor = await Dtu.connect(server, b"DTU-A\n")
                assert await received(impostor) == b""  # refused, and never sent anything
                assert server.holder("DTU-A") is holder
                [event] = server.take_events()
                assert event.kind == CLAIM_REFUSED and event.holder_state == "live"
                assert event.peer != event.owner
                # the holder keeps its meters, commands included
                m = driver(server, "DTU-A")
                relay = asyncio.create_task(m.relay(RelayOp.TRIP))
                request = await owner.answer(ack())
                await relay
                assert controls(request) == {dlt645.Function2007.REMOTE_CONTROL}

        run(scenario())
        log = "\n".join(r.getMessage() for r in caplog.records)
        assert "claims DTU id DTU-A, held by a live connection" in log

    def test_it_holds_commands_when_a_new_holder_is_contested(self):
        async def scenario() -> None:
            clock = FakeClock()
            async with listener(clock, dispute_hold=HOLD, heartbeat_timeout=HEARTBEAT) as server:
                first = await Dtu.connect(server, b"DTU-B\n")
                await server.wait_for("DTU-B")
                clock.advance(5)  # the holder is 5 s old: it may itself be an impostor that raced in
                rival = await Dtu.connect(server, b"DTU-B\n")
                await received(rival)
                m = driver(server, "DTU-B")
                with pytest.raises(DriverError) as err:
                    await m.relay(RelayOp.TRIP)
                assert err.value.code == "disputed"
                # reads still work through the holder
                reading = asyncio.create_task(m.read_item(0x00010000))
                await first.answer(read_reply())
                assert await reading is not None
                clock.advance(HOLD - 1)
                with pytest.raises(DriverError):
                    await m.relay(RelayOp.TRIP)
                clock.advance(1)  # HOLD seconds without another claim: settled
                relay = asyncio.create_task(m.relay(RelayOp.TRIP))
                await first.answer(ack())
                await relay

        run(scenario())

    def test_it_queues_one_event_per_minute_and_address_for_a_hammering_rival(self):
        async def scenario() -> None:
            clock = FakeClock()
            async with listener(clock, heartbeat_timeout=HEARTBEAT) as server:
                holder = await Dtu.connect(server, b"DTU-C\n")
                await server.wait_for("DTU-C")
                for _ in range(10):
                    await received(await Dtu.connect(server, b"DTU-C\n"))
                assert len(server.take_events()) == 1
                clock.advance(61)
                await received(await Dtu.connect(server, b"DTU-C\n"))
                [event] = server.take_events()
                assert event.repeats == 9
                holder.close()

        run(scenario())

    def test_it_bounds_the_events_waiting_for_the_database(self):
        async def scenario() -> None:
            async with listener(max_events=3) as server:
                holders = []
                for i in range(6):
                    dtu_id = f"DTU-E{i}".encode()
                    holders.append(await Dtu.connect(server, dtu_id + b"\n"))
                    await server.wait_for(dtu_id.decode())
                    await received(await Dtu.connect(server, dtu_id + b"\n"))
                assert len(server.events) == 3 and server.events_dropped == 3
                assert len(server.take_events()) == 3 and not server.events

        run(scenario())


class DeadHolderTestCase:
    def test_it_lets_a_connection_take_over_a_silent_holder_and_holds_its_commands(self):
        async def scenario() -> None:
            clock = FakeClock()
            async with listener(clock, dispute_hold=HOLD, heartbeat_timeout=HEARTBEAT) as server:
                old = await Dtu.connect(server, b"DTU-D\n")
                await server.wait_for("DTU-D")
                clock.advance(HEARTBEAT)  # missed its heartbeats
                new = await Dtu.connect(server, b"DTU-D\n")
                await received(old)  # the dead holder is closed
                await until(lambda: server.holder("DTU-D") is not None, "taken over")
                [event] = server.take_events()
                assert event.kind == TAKEOVER and event.holder_state == "silent" and event.silent == HEARTBEAT
                m = driver(server, "DTU-D")
                for op in (RelayOp.TRIP, RelayOp.CLOSE):
                    with pytest.raises(DriverError) as err:
                        await m.relay(op)
                    assert err.value.code == "disputed"
                with pytest.raises(DriverError) as err:
                    await m.sync_clock(datetime(2026, 1, 1))
                assert err.value.code == "disputed"
                # nothing was written to the newcomer: the next bytes it gets are a read
                reading = asyncio.create_task(m.read_item(0x00010000))
                request = await new.answer(read_reply())
                await reading
                assert controls(request) == {dlt645.Function2007.READ}
                clock.advance(HOLD)
                relay = asyncio.create_task(m.relay(RelayOp.TRIP))
                request = await new.answer(ack())
                await relay
                assert controls(request) == {dlt645.Function2007.REMOTE_CONTROL}

        run(scenario())

    def test_it_extends_the_hold_when_the_old_holder_comes_back(self):
        async def scenario() -> None:
            clock = FakeClock()
            async with listener(clock, dispute_hold=HOLD, heartbeat_timeout=HEARTBEAT) as server:
                old = await Dtu.connect(server, b"DTU-F\n")
                await server.wait_for("DTU-F")
                clock.advance(HEARTBEAT + 1)
                new = await Dtu.connect(server, b"DTU-F\n")  # takes over
                await until(lambda: len(server.events) == 1, "takeover queued")
                clock.advance(HOLD - 10)
                await new.send(b"DTU-F\n")  # the newcomer is alive
                await until(lambda: server.holder("DTU-F").heartbeats == 1, "heartbeat seen")
                back = await Dtu.connect(server, b"DTU-F\n")  # the real DTU returns: refused
                await received(back)
                clock.advance(20)  # past the first hold, within the extended one
                with pytest.raises(DriverError) as err:
                    await driver(server, "DTU-F").relay(RelayOp.TRIP)
                assert err.value.code == "disputed"
                assert [e.kind for e in server.take_events()] == [TAKEOVER, CLAIM_REFUSED]
                await received(old)
                new.close()

        run(scenario())

    def test_it_registers_afresh_after_the_holder_closed(self):
        async def scenario() -> None:
            clock = FakeClock()
            async with listener(clock, dispute_hold=HOLD) as server:
                first = await Dtu.connect(server, b"DTU-G\n")
                await server.wait_for("DTU-G")
                first.close()
                await until(lambda: server.holder("DTU-G") is None, "released")
                again = await Dtu.connect(server, b"DTU-G\n")
                await server.wait_for("DTU-G")
                assert server.take_events() == []
                relay = asyncio.create_task(driver(server, "DTU-G").relay(RelayOp.TRIP))
                await again.answer(ack())
                await relay

        run(scenario())

    def test_it_accepts_ids_up_to_the_limit_only(self):
        async def scenario() -> None:
            async with listener() as server:
                longest = "D" * MAX_DTU_ID
                holder = await Dtu.connect(server, longest.encode() + b"\r\n")
                await server.wait_for(longest)
                assert server.holder(longest) is not None and holder.writer is not None
                too_long = await Dtu.connect(server, b"D" * (MAX_DTU_ID + 1) + b"\n")
                await received(too_long)

        run(scenario())
