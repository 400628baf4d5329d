"""A fleet holds the ports it hands out until its listeners are up.

``make demo`` once stopped with "address already in use": the fleet chose each listener's port by
binding port 0 and closing it again, wrote the port into the meters' ``comm_params``, and only then
started the listeners; an outgoing connection took the port in between. The ports are now held by a
bound socket from the moment they are handed out.
"""

from __future__ import annotations

import asyncio
import errno
import socket

import pytest

from prepay.simulator.clock import ManualClock
from prepay.simulator.fleet import Fleet, FleetThread
from prepay.simulator.meter import VirtualMeter
from prepay.simulator.servers.modbus import ModbusFrontEnd


def _taken(port: int) -> bool:
    """Whether a plain socket (no SO_REUSEADDR, as an outgoing connection's local port) can bind it."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            assert exc.errno == errno.EADDRINUSE
            return True
    return False


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _meter(serial: str) -> VirtualMeter:
    return VirtualMeter(serial=serial, clock=ManualClock())


class FleetPortsTestCase:
    def test_a_port_handed_to_a_meter_is_held_until_its_listener_answers(self):
        fleet = Fleet(per_port=1)
        ports = [
            fleet.add(_meter("47000000001"), "dlt645")["port"],
            fleet.add(_meter("47000000002"), "dlt645")["port"],
            fleet.add(_meter("47000000003"), "modbus_tcp")["port"],
            fleet.add(_meter("47000000004"), "cjt188")["port"],
        ]
        assert len(set(ports)) == 4
        # handed out, not yet listening: nobody else can bind them, nobody can connect yet
        assert all(_taken(p) for p in ports)
        assert not any(_answers(p) for p in ports)
        with FleetThread(fleet):
            assert all(_answers(p) for p in ports)
        # stopped: the listeners and the holding sockets are gone
        assert not any(_answers(p) for p in ports)

    def test_a_fleet_built_but_never_started_lets_its_ports_go(self):
        fleet = Fleet(per_port=1)
        port = fleet.add(_meter("47000000001"), "cjt188")["port"]
        assert _taken(port)
        fleet.release_ports()
        assert not _taken(port)

    def test_fixed_ports_are_not_held(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        fleet = Fleet(per_port=1, base_port=base)
        assert fleet.add(_meter("47000000001"), "dlt645")["port"] == base
        assert not _taken(base)

    def test_a_modbus_front_end_on_any_port_holds_it_until_it_answers(self):
        async def run() -> int:
            fe = ModbusFrontEnd({1: _meter("47000000001")})
            assert _taken(fe.port) and not _answers(fe.port)
            await fe.start()
            try:
                assert _answers(fe.port)
            finally:
                await fe.stop()
            return fe.port

        port = asyncio.run(run())
        assert not _answers(port)

    def test_a_port_taken_meanwhile_by_someone_else_is_still_refused_loudly(self):
        fleet = Fleet(per_port=1)
        port = fleet.add(_meter("47000000001"), "dlt645")["port"]
        fleet.release_ports()
        with socket.socket() as squatter:
            squatter.bind(("127.0.0.1", port))
            squatter.listen()
            thread = FleetThread(fleet)
            with pytest.raises(OSError):
                thread.start()
            thread.stop()
