"""MQTT meters through the real broker, and DL/T 645 DTUs that dial in to the poller's listener."""

from __future__ import annotations

from decimal import Decimal

from prepay.telemetry.actions import do_queue_command
from prepay.telemetry.models import CommandStatus, MeterLink, MeterReading
from prepay.telemetry.poller import Poller, poll_once
from tests.telemetry.conftest import need_broker, new_meter


class TestMqtt:
    def test_it_reads_trips_and_credits_mqtt_meters_through_the_broker(self, world, make_sim):
        need_broker()
        m1, m2 = new_meter(world, "single"), new_meter(world, "three", ct_ratio=100)
        sim = make_sim([(m1, "mqtt"), (m2, "mqtt")], credit=Decimal("40"))
        sim.advance(hours=3)
        trip = do_queue_command(m1, "trip", actor=world.clerk, reason="arrears")
        credit = do_queue_command(m2, "credit", actor=None, reason="vend", params={"amount": "10"})
        summary = poll_once(timeout=3)
        assert summary.ok == 2, summary.errors
        trip.refresh_from_db()
        credit.refresh_from_db()
        assert trip.status == CommandStatus.CONFIRMED and sim.vm(m1).relay_open
        assert credit.status == CommandStatus.CONFIRMED and sim.vm(m2).purchase_count == 1
        r = MeterReading.objects.get(meter=m2)
        assert r.energy == r.register * 100
        assert MeterLink.objects.get(meter=m1).relay_state == "open"


class TestDialIn:
    def test_it_polls_meters_behind_a_dtu_that_dials_in(self, world, make_sim):
        meters = [new_meter(world, "single") for _ in range(3)]
        with Poller(listen=("127.0.0.1", 0), timeout=1) as p:
            assert p.pool is not None and p.pool.dial_in is not None
            port = p.pool.dial_in.port
            sim = make_sim([(m, "dlt645") for m in meters], dial_in_to=("127.0.0.1", port))
            dtu = meters[0].comm_params["dtu"]
            assert all(m.comm_params["dtu"] == dtu for m in meters)  # one DTU carries the bus
            p.run(p.pool.dial_in.wait_for(dtu, timeout=5))
            sim.advance(hours=2)  # the meters' clocks now run 2 h fast: the deadline is read from them
            trip = do_queue_command(meters[1], "trip", actor=None, reason="x")
            summary = p.cycle(meters)
            assert summary.ok == 3 and summary.commands_confirmed == 1
            trip.refresh_from_db()
            assert trip.result["meter_clock_offset_s"] >= 7190 and sim.vm(meters[1]).relay_open
            do_queue_command(meters[1], "sync_clock", actor=None, reason="drift")
            do_queue_command(meters[1], "close", actor=None, reason="x")
            assert p.cycle(meters).commands_confirmed == 2
            assert not sim.vm(meters[1]).relay_open

    def test_a_dtu_that_never_dialled_in_is_a_connect_failure(self, world, make_sim):
        meter = new_meter(world, "single")
        with Poller(listen=("127.0.0.1", 0), timeout=0.5, retries=0) as p:
            from prepay.telemetry.actions import do_bind_meter

            do_bind_meter(
                meter, protocol="dlt645", comm_params={"dtu": "NOBODY", "address": "000000000001"}, actor=None
            )
            meter.refresh_from_db()
            summary = p.cycle([meter])
            assert summary.failed == 1 and summary.errors == {"connect": 1}
