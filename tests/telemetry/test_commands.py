"""``prepay pollmeters`` and ``prepay simulate`` commands."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from prepay.telemetry.models import MeterReading
from tests.telemetry.conftest import new_meter


class TestPollmetersCommand:
    def test_it_runs_one_cycle_and_prints_the_summary(self, world, make_sim):
        meter = new_meter(world, "three")
        make_sim([(meter, "modbus_tcp")])
        out = StringIO()
        call_command("pollmeters", "--once", stdout=out)
        assert "1 meters" in out.getvalue() and "1 read" in out.getvalue()
        assert MeterReading.objects.filter(meter=meter).count() == 1

    def test_it_refuses_a_bad_listen_address(self, world):
        with pytest.raises(CommandError):
            call_command("pollmeters", "--once", "--listen", "nowhere")


class TestSimulateCommand:
    def test_it_serves_generated_meters_for_a_while(self, db):
        out = StringIO()
        call_command("simulate", "--generate", "3", "--duration", "0.2", "--quiet", stdout=out)
        text = out.getvalue()
        assert "SIM00000001 dlt645" in text and "3 virtual meters running" in text

    def test_it_binds_installed_meters_from_the_database(self, world):
        from tests import factories as f

        meter = new_meter(world, "single")
        f.account(world.a1, meter_=meter)
        out = StringIO()
        call_command("simulate", "--duration", "0.2", "--quiet", "--site", "a1", stdout=out)
        meter.refresh_from_db()
        assert meter.protocol == "dlt645" and meter.comm_params["port"] > 0
        assert meter.link.poll_interval == 60

    def test_it_refuses_when_there_is_nothing_to_simulate(self, db):
        with pytest.raises(CommandError):
            call_command("simulate", "--duration", "0.1", "--quiet")
