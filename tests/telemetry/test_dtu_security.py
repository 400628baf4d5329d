"""DTU id claims end to end: the poller's listener, virtual DTUs and raw impostors on loopback sockets.

A refused claim or a takeover becomes a meter event on every meter behind the DTU and an audit
event; a command is never sent through a contested connection and stays queued without an attempt.
"""

from __future__ import annotations

import socket
import time

import pytest
from django.core.management import CommandError, call_command

from prepay.audit.models import AuditEvent
from prepay.domain.protocols import dlt645
from prepay.meters.drivers.limits import Limits
from prepay.telemetry.actions import do_bind_meter, do_queue_command
from prepay.telemetry.models import CommandStatus, MeterEvent
from prepay.telemetry.poller import Poller
from tests.telemetry.conftest import new_meter


def register(port: int, dtu_id: str) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(dtu_id.encode() + b"\n")
    return s


def refused(s: socket.socket) -> bool:
    """True when the listener closed ``s`` without sending it a byte."""
    try:
        return s.recv(4096) == b""
    except ConnectionResetError:
        return True
    finally:
        s.close()


def controls_received(s: socket.socket) -> set[int]:
    s.settimeout(2)
    raw = b""
    frames: list[dlt645.Frame] = []
    reader = dlt645.FrameReader()
    while not frames:
        chunk = s.recv(4096)
        if not chunk:
            break
        raw += chunk
        frames += reader.feed(chunk)
    return {f.control for f in frames}


class DtuClaimRecordingTestCase:
    def test_it_records_a_refused_claim_and_holds_commands_for_a_new_holder(self, world, make_sim):
        meters = [new_meter(world, "single") for _ in range(2)]
        with Poller(listen=("127.0.0.1", 0), timeout=1, limits=Limits(dispute_hold=3600)) as p:
            assert p.pool is not None and p.pool.dial_in is not None
            port = p.pool.dial_in.port
            sim = make_sim([(m, "dlt645") for m in meters], dial_in_to=("127.0.0.1", port))
            dtu = meters[0].comm_params["dtu"]
            p.run(p.pool.dial_in.wait_for(dtu, timeout=5))
            assert refused(register(port, dtu))
            trip = do_queue_command(meters[0], "trip", actor=world.clerk, reason="arrears")
            summary = p.cycle(meters)
            assert summary.ok == 2 and summary.commands_held == 1 and summary.wire_events == 2
            trip.refresh_from_db()
            assert trip.status == CommandStatus.QUEUED and trip.attempts == 0
            assert "disputed" in trip.error
            assert not sim.vm(meters[0]).relay_open
        events = list(MeterEvent.objects.filter(kind="dtu_claim_refused"))
        assert {e.meter_id for e in events} == {m.pk for m in meters}
        detail = events[0].detail
        assert detail["dtu"] == dtu and detail["holder_state"] == "live"
        assert detail["peer"].startswith("127.0.0.1:") and "was refused" in detail["message"]
        audit = AuditEvent.objects.get(verb="meter.dtu_claim_refused")
        assert audit.object_id == dtu and audit.site_id == world.a1.site.pk
        assert sorted(audit.after["meters"]) == sorted(m.serial for m in meters)
        assert AuditEvent.objects.filter(verb="meter.command.hold", object_id=str(trip.pk)).exists()

    def test_it_keeps_sending_commands_through_an_established_holder(self, world, make_sim):
        meter = new_meter(world, "single")
        with Poller(listen=("127.0.0.1", 0), timeout=1, limits=Limits(dispute_hold=0)) as p:
            assert p.pool is not None and p.pool.dial_in is not None
            port = p.pool.dial_in.port
            sim = make_sim([(meter, "dlt645")], dial_in_to=("127.0.0.1", port))
            dtu = meter.comm_params["dtu"]
            p.run(p.pool.dial_in.wait_for(dtu, timeout=5))
            assert refused(register(port, dtu))
            do_queue_command(meter, "trip", actor=None, reason="arrears")
            summary = p.cycle([meter])
            assert summary.commands_confirmed == 1 and summary.wire_events == 1
            assert sim.vm(meter).relay_open
        assert MeterEvent.objects.filter(meter=meter, kind="dtu_claim_refused").count() == 1

    def test_it_records_a_takeover_of_a_silent_holder_and_sends_it_no_command(self, world):
        meter = new_meter(world, "single")
        do_bind_meter(
            meter, protocol="dlt645", comm_params={"dtu": "DTU-T1", "address": "000000000077"}, actor=None
        )
        meter.refresh_from_db()
        limits = Limits(heartbeat_timeout=0.2, idle_timeout=60, dispute_hold=3600)
        with Poller(listen=("127.0.0.1", 0), timeout=0.3, retries=0, limits=limits) as p:
            assert p.pool is not None and p.pool.dial_in is not None
            port = p.pool.dial_in.port
            old = register(port, "DTU-T1")
            p.run(p.pool.dial_in.wait_for("DTU-T1", timeout=5))
            time.sleep(0.5)  # longer than heartbeat_timeout: the holder missed its heartbeats
            new = register(port, "DTU-T1")
            assert refused(old)  # the dead holder was closed
            trip = do_queue_command(meter, "trip", actor=None, reason="arrears")
            credit = do_queue_command(meter, "close", actor=None, reason="paid")
            summary = p.cycle([meter])
            assert summary.commands_held == 2 and summary.wire_events == 1
            assert summary.errors == {"timeout": 1}  # the read went to the newcomer, which did not answer
            assert controls_received(new) == {dlt645.Function2007.READ}
            new.close()
        for cmd in (trip, credit):
            cmd.refresh_from_db()
            assert cmd.status == CommandStatus.QUEUED and cmd.attempts == 0
        event = MeterEvent.objects.get(meter=meter, kind="dtu_takeover")
        assert event.detail["holder_state"] == "silent" and "took DTU DTU-T1 over" in event.detail["message"]
        assert AuditEvent.objects.filter(verb="meter.dtu_takeover", object_id="DTU-T1").count() == 1

    def test_it_writes_nothing_for_a_dtu_no_meter_uses(self, world):
        with Poller(listen=("127.0.0.1", 0), timeout=0.3, retries=0, limits=Limits()) as p:
            assert p.pool is not None and p.pool.dial_in is not None
            port = p.pool.dial_in.port
            holder = register(port, "NOBODY-KNOWS")
            p.run(p.pool.dial_in.wait_for("NOBODY-KNOWS", timeout=5))
            assert refused(register(port, "NOBODY-KNOWS"))
            assert p.cycle([]).wire_events == 0
            holder.close()
        assert not MeterEvent.objects.exists()


class PollmetersLimitsTestCase:
    def test_it_refuses_to_start_with_a_bad_limit(self, db, monkeypatch):
        monkeypatch.setenv("PREPAY_DTU_MAX_CONNECTIONS", "lots")
        with pytest.raises(CommandError) as err:
            call_command("pollmeters", "--once")
        assert "PREPAY_DTU_MAX_CONNECTIONS='lots' is not a number" in str(err.value)
