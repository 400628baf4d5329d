"""CJ/T 188 water meters: spec frames, read replies, valve control, status layouts, stream reader."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prepay.domain.protocols import MeterErrorReply, ProtocolError, cjt188
from prepay.domain.protocols.cjt188 import Flow, Status, StatusLayout, ValveState, WaterReading

from . import vectors as v

ADDRESS = "78330011223344"
VALVE_ADDRESS = "78331505900569"
water_addresses = st.lists(st.integers(0, 99).map(lambda n: f"{n:02d}"), min_size=7, max_size=7).map("".join)
flows = st.builds(Flow, st.integers(0, 10**8 - 1).map(lambda n: Decimal(n).scaleb(-2)), st.integers(0, 255))


class Cjt188KnownFramesTestCase:
    def test_it_builds_the_spec_read_request(self):
        assert cjt188.encode_frame(cjt188.build_read(ADDRESS)) == v.CJT_READ
        frame = cjt188.decode_frame(v.CJT_READ)
        assert (frame.meter_type, frame.address, frame.control, frame.data) == (
            0x10,
            ADDRESS,
            0x01,
            b"\x1f\x90\x00",
        )

    def test_it_builds_the_spec_valve_frames(self):
        assert (
            cjt188.encode_frame(cjt188.build_valve(VALVE_ADDRESS, True, ser=1), preamble=False) == v.CJT_OPEN
        )
        assert (
            cjt188.encode_frame(cjt188.build_valve(VALVE_ADDRESS, False, ser=1), preamble=False)
            == v.CJT_CLOSE
        )
        cmd = cjt188.parse_valve_command(cjt188.decode_frame(v.CJT_CLOSE))
        assert (cmd.address, cmd.ser, cmd.open) == (VALVE_ADDRESS, 1, False)

    @pytest.mark.parametrize("raw", v.ALL_188)
    def test_it_reencodes_spec_frames_byte_exact(self, raw):
        assert cjt188.encode_frame(cjt188.decode_frame(raw), preamble=raw.startswith(b"\xfe")) == raw

    def test_it_rejects_the_page_reply_with_its_wrong_checksum(self):
        with pytest.raises(ProtocolError) as info:
            cjt188.decode_frame(v.CJT_REPLY_PAGE)
        assert info.value.code == "checksum" and "computed 13" in str(info.value)

    def test_it_decodes_the_page_reply_once_its_checksum_is_corrected(self):
        fixed = v.CJT_REPLY_PAGE[:-2] + b"\x13\x16"
        reading = cjt188.parse_read_reply(cjt188.decode_frame(fixed), expected_address=ADDRESS)
        assert reading.current == Flow(Decimal("556677.00"), 0x2C) and reading.current.unit == "m³"
        assert reading.settlement.value == Decimal("556677.00")
        assert reading.time == dt.datetime(2015, 5, 11, 22, 1, 31)
        assert reading.status.raw == b"\x21\x84"
        assert cjt188.encode_frame(cjt188.build_read_reply(reading)) == fixed


class Cjt188StatusTestCase:
    @pytest.mark.parametrize(
        ("byte", "layout", "valve", "battery"),
        [
            (0x00, StatusLayout.STANDARD, ValveState.OPEN, False),
            (0x01, StatusLayout.STANDARD, ValveState.CLOSED, False),
            (0x03, StatusLayout.STANDARD, ValveState.ABNORMAL, False),
            (0x06, StatusLayout.STANDARD, ValveState.UNKNOWN, True),
            (0x00, StatusLayout.CJ188H, ValveState.OPEN, False),
            (0x40, StatusLayout.CJ188H, ValveState.CLOSED, False),
            (0xC0, StatusLayout.CJ188H, ValveState.ABNORMAL, False),
            (0x20, StatusLayout.CJ188H, ValveState.OPEN, True),
        ],
    )
    def test_it_reads_valve_and_battery_bits(self, byte, layout, valve, battery):
        status = cjt188.decode_status(bytes([byte, 0]), layout)
        assert (status.valve, status.battery_low) == (valve, battery)

    def test_it_parses_valve_replies(self):
        frame = cjt188.decode_frame(
            cjt188.encode_frame(cjt188.build_valve_reply(VALVE_ADDRESS, ValveState.CLOSED, ser=1))
        )
        reply = cjt188.parse_valve_reply(frame, expected_address=VALVE_ADDRESS)
        assert (reply.ser, reply.status.valve) == (1, ValveState.CLOSED)

    def test_it_raises_on_abnormal_replies(self):
        frame = cjt188.Frame(0x10, ADDRESS, 0xC4, b"\x01\x00\x00")
        with pytest.raises(MeterErrorReply):
            cjt188.parse_valve_reply(frame)

    def test_it_checks_address_and_di(self):
        reply = cjt188.build_valve_reply(VALVE_ADDRESS, ValveState.OPEN)
        with pytest.raises(ProtocolError) as info:
            cjt188.parse_valve_reply(reply, expected_address=ADDRESS)
        assert info.value.code == "address_mismatch"
        with pytest.raises(ProtocolError) as info:
            cjt188.parse_read_reply(cjt188.Frame(0x10, ADDRESS, 0x81, b"\x12\x34\x00" + b"\x00" * 19))
        assert info.value.code == "di_mismatch"

    def test_it_accepts_both_di_byte_orders_in_replies(self):
        reading = WaterReading(
            0x10,
            ADDRESS,
            0,
            Flow(Decimal("1.00"), 0x2C),
            Flow(Decimal(0), 0x2C),
            None,
            Status(b"\0\0", ValveState.OPEN, False),
            b"",
        )
        for di in (b"\x1f\x90", b"\x90\x1f"):
            assert cjt188.parse_read_reply(cjt188.build_read_reply(reading, di=di)).current.value == Decimal(
                "1.00"
            )

    def test_it_rejects_short_read_replies(self):
        with pytest.raises(ProtocolError) as info:
            cjt188.parse_read_reply(cjt188.Frame(0x10, ADDRESS, 0x81, b"\x1f\x90\x00" + b"\x00" * 18))
        assert info.value.code == "bad_length"

    def test_it_resynchronises_a_stream(self):
        stream = b"\x00\x68\x10garbage\xfe\xfe" + v.CJT_OPEN + v.CJT_READ[:10] + v.CJT_READ
        assert cjt188.FrameReader().feed(stream) == [
            cjt188.decode_frame(v.CJT_OPEN),
            cjt188.decode_frame(v.CJT_READ),
        ]


class Cjt188RoundTripTestCase:
    @given(water_addresses, st.integers(0, 255), st.integers(0x10, 0x19))
    def test_it_round_trips_read_requests(self, address, ser, meter_type):
        frame = cjt188.decode_frame(
            cjt188.encode_frame(cjt188.build_read(address, ser=ser, meter_type=meter_type))
        )
        assert (frame.address, frame.data[2], frame.meter_type) == (address, ser, meter_type)

    @given(water_addresses, st.integers(0, 255), st.booleans())
    def test_it_round_trips_valve_commands(self, address, ser, open_):
        frame = cjt188.decode_frame(cjt188.encode_frame(cjt188.build_valve(address, open_, ser=ser)))
        assert cjt188.parse_valve_command(frame) == cjt188.ValveCommand(0x10, address, ser, open_)

    @given(
        water_addresses,
        st.integers(0, 255),
        flows,
        flows,
        st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2099, 12, 31)).map(
            lambda t: t.replace(microsecond=0)
        )
        | st.none(),
        st.sampled_from([ValveState.OPEN, ValveState.CLOSED, ValveState.ABNORMAL]),
        st.booleans(),
        st.sampled_from(list(StatusLayout)),
        st.binary(max_size=4),
    )
    def test_it_round_trips_read_replies(
        self, address, ser, current, settlement, when, valve, battery, layout, extra
    ):
        st_bytes = cjt188.encode_status(valve, battery, layout)
        reading = WaterReading(
            0x10, address, ser, current, settlement, when, Status(st_bytes, valve, battery), extra
        )
        frame = cjt188.decode_frame(cjt188.encode_frame(cjt188.build_read_reply(reading)))
        assert cjt188.parse_read_reply(frame, layout=layout) == reading

    @given(
        water_addresses,
        st.sampled_from([ValveState.OPEN, ValveState.CLOSED, ValveState.ABNORMAL]),
        st.booleans(),
    )
    def test_it_round_trips_valve_replies(self, address, valve, battery):
        frame = cjt188.build_valve_reply(address, valve, battery_low=battery)
        reply = cjt188.parse_valve_reply(cjt188.decode_frame(cjt188.encode_frame(frame)))
        assert (reply.status.valve, reply.status.battery_low) == (valve, battery)
