"""VirtualMeter: load integration, the two-stage low-credit cut-off, cards, remote commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from prepay.simulator.card import sim_card_image
from prepay.simulator.clock import ManualClock, SimClock
from prepay.simulator.meter import MeterRefused, Stage, VirtualMeter

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday


def meter(**kw):
    clock = ManualClock(START)
    kw.setdefault("credit", Decimal("30"))
    kw.setdefault("alarm_level", Decimal("12"))
    return clock, VirtualMeter(serial="47000000001", clock=clock, seed=7, **kw)


class TestLoad:
    def test_it_gives_the_same_energy_whatever_the_steps(self):
        c1, a = meter(local_control=False)
        c2, b = meter(local_control=False)
        c1.advance(timedelta(days=2))
        a.advance()
        for _ in range(48 * 4):
            c2.advance(timedelta(minutes=15))
            b.advance()
        assert a.energy == b.energy > 0
        assert sum(a.tou) == a.energy

    def test_it_uses_more_in_the_evening_than_at_night(self):
        clock, m = meter(local_control=False)
        clock.advance(timedelta(hours=4))
        night = m.register()
        clock.advance(timedelta(hours=15))  # to 19:00
        m.advance()
        before = m.energy
        clock.advance(timedelta(hours=4))  # 19:00-23:00
        m.advance()
        assert m.energy - before > night

    def test_a_sim_clock_runs_faster_than_real_time(self):
        c = SimClock(START, speed=3600)
        assert c.now() >= START


class TestTwoStageCutOff:
    def test_it_cuts_at_the_alarm_level_then_restores_on_the_button_then_cuts_at_zero(self):
        clock, m = meter(credit=Decimal("13"))
        clock.advance(timedelta(days=3))
        m.advance()
        assert m.relay_open and m.stage == Stage.REMINDED and m.credit == Decimal("12")
        assert m.flags()["low_credit"]
        energy_while_cut = m.energy
        clock.advance(timedelta(hours=5))
        m.advance()
        assert m.energy == energy_while_cut  # no supply while cut
        assert m.press_button()
        assert not m.relay_open and m.stage == Stage.RESTORED
        clock.advance(timedelta(days=30))
        m.advance()
        assert m.relay_open and m.stage == Stage.EXHAUSTED and m.credit == 0
        assert not m.press_button()  # the button does not help at zero
        assert m.relay_open
        assert [e.kind for e in m.events if e.kind in ("low_credit_cut", "credit_exhausted")] == [
            "low_credit_cut",
            "credit_exhausted",
        ]

    def test_a_card_reinsert_restores_after_the_reminder(self):
        clock, m = meter(credit=Decimal("12.5"))
        clock.advance(timedelta(days=1))
        m.advance()
        assert m.stage == Stage.REMINDED
        image = sim_card_image(m.serial, 1, Decimal("5"))
        assert m.insert_card(image).accepted
        out = m.insert_card(image)  # the same card again: no credit, but supply restored
        assert not out.accepted and out.code == "used"
        assert not m.relay_open

    def test_new_credit_ends_the_final_cut(self):
        clock, m = meter(credit=Decimal("1"), alarm_level=Decimal("0.5"))
        clock.advance(timedelta(days=5))
        m.advance()
        m.press_button()
        clock.advance(timedelta(days=5))
        m.advance()
        assert m.stage == Stage.EXHAUSTED
        assert m.push_credit(Decimal("50"), 1)
        assert not m.relay_open and m.stage == Stage.NORMAL

    def test_keep_power_suppresses_local_cuts_and_refuses_trips(self):
        clock, m = meter(credit=Decimal("13"))
        m.remote("keep_power")
        clock.advance(timedelta(days=3))
        m.advance()
        assert not m.relay_open
        with pytest.raises(MeterRefused):
            m.remote("trip")


class TestCards:
    def test_it_loads_a_card_once(self):
        _clock, m = meter()
        image = sim_card_image(m.serial, 1, Decimal("20"))
        assert m.insert_card(image).accepted
        assert m.credit == Decimal("50")
        assert m.insert_card(image).code == "used"
        assert m.credit == Decimal("50")

    def test_it_refuses_another_meters_card_and_a_forged_one(self):
        _clock, m = meter()
        assert m.insert_card(sim_card_image("OTHER", 1, Decimal("20"))).code == "mac"
        image = bytearray(sim_card_image(m.serial, 1, Decimal("20")))
        image[12] ^= 1
        assert m.insert_card(bytes(image)).code in ("mac", "format")
        assert m.insert_card(b"garbage").code == "format"
        assert m.credit == Decimal("30")


class TestRemote:
    def test_it_follows_remote_relay_commands(self):
        _clock, m = meter(local_control=False)
        m.remote("trip")
        assert m.relay_open and m.status_word_3() & 0x10
        m.remote("close_allowed")
        assert m.relay_open
        assert m.press_button()
        assert not m.relay_open

    def test_a_remote_push_is_idempotent_by_sequence(self):
        _clock, m = meter()
        assert m.push_credit(Decimal("10"), 1)
        assert not m.push_credit(Decimal("10"), 1)
        assert m.credit == Decimal("40")

    def test_a_remote_control_meter_holds_no_credit(self):
        _clock, m = meter(local_control=False)
        with pytest.raises(MeterRefused):
            m.push_credit(Decimal("1"), 1)
