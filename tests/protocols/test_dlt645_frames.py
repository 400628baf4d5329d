"""DL/T 645 known-answer tests: every concrete frame of the spec decodes and re-encodes byte-exact."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from prepay.domain.protocols import MeterErrorReply, ProtocolError
from prepay.domain.protocols import dlt645 as d
from prepay.domain.protocols.dlt645 import Auth, RelayAction, Version

from . import vectors as v

TRIP_DEADLINE = dt.datetime(2026, 12, 31, 23, 59, 59)


def wire(frame: d.Frame, like: bytes) -> bytes:
    return d.encode_frame(frame, preamble=like.startswith(b"\xfe"))


class Dlt645KnownFramesTestCase:
    @pytest.mark.parametrize("raw", v.ALL_645, ids=lambda raw: raw.hex()[-24:])
    def test_it_decodes_and_reencodes_every_spec_frame_byte_exact(self, raw):
        frame = d.decode_frame(raw)
        assert wire(frame, raw) == raw

    def test_it_builds_c1_read_address_wildcard(self):
        assert wire(d.build_read_address(), v.C1) == v.C1
        assert wire(d.build_read_address(), v.S1_REQ) == v.S1_REQ

    def test_it_parses_c2_and_s1_address_replies(self):
        assert d.parse_read_address_reply(d.decode_frame(v.C2)) == "558890213594"
        assert d.parse_read_address_reply(d.decode_frame(v.S1_RSP)) == "201000000012"
        assert wire(d.build_read_address_reply("558890213594"), v.C2) == v.C2
        assert wire(d.build_read_address_reply("201000000012"), v.S1_RSP) == v.S1_RSP

    def test_it_builds_c3_c4_read_requests(self):
        assert wire(d.build_read("558890213594", 0x00010000), v.C3_REQ) == v.C3_REQ
        assert wire(d.build_read("558890213594", 0x02010100), v.C4_REQ) == v.C4_REQ
        req = d.parse_read_request(d.decode_frame(v.C3_REQ))
        assert (req.address, req.di, req.extra) == ("558890213594", 0x00010000, b"")

    @pytest.mark.parametrize(
        ("raw", "address", "di", "value"),
        [
            (v.C3_RSP, "558890213594", 0x00010000, Decimal("2.26")),
            (v.C4_RSP, "558890213594", 0x02010100, Decimal("224.8")),
            (v.C5_RSP, "558890213594", 0x02020100, Decimal("0.238")),
            (
                v.S3_RSP,
                "201000000012",
                0x0001FF00,
                tuple(Decimal(x) for x in ["1.29", "0.62", "0.60", "0.03", "0.02"]),
            ),
            (v.S4_RSP, "201000000012", 0x0201FF00, (Decimal("225.6"), None, None)),
            (v.S5_RSP, "201000000012", 0x04000101, d.DateWeek(dt.date(2016, 1, 11), 1)),
            (v.S6_RSP, "201000000012", 0x04000102, dt.time(21, 53, 55)),
            (v.S7_RSP, "201000000012", 0x00900200, Decimal("198.56")),
            (v.S9_RSP, "201000000012", 0x03300D00, 27),
            (v.P1, "000123456789", 0x00000000, Decimal("0.46")),
        ],
    )
    def test_it_decodes_read_replies_and_rebuilds_them(self, raw, address, di, value):
        reply = d.parse_read_reply(d.decode_frame(raw), expected_address=address, expected_di=di)
        assert (reply.address, reply.di, reply.value, reply.known, reply.follow_up) == (
            address,
            di,
            value,
            True,
            False,
        )
        assert wire(d.build_read_reply(address, di, value), raw) == raw

    def test_it_decodes_s7_remaining_money_exactly(self):
        assert d.build_read("201000000012", 0x00900200) == d.decode_frame(v.S7_REQ)
        value = d.parse_read_reply(d.decode_frame(v.S7_RSP)).value
        assert isinstance(value, Decimal) and str(value) == "198.56"

    def test_it_raises_a_typed_error_for_s8_no_requested_data(self):
        assert wire(d.build_read("201000000012", 0x03010000), v.S8_REQ) == v.S8_REQ
        with pytest.raises(MeterErrorReply) as info:
            d.parse_read_reply(d.decode_frame(v.S8_RSP), expected_di=0x03010000)
        assert info.value.code == "error_reply"
        assert (info.value.function, info.value.err, info.value.flags) == (0x11, 0x02, ("no_requested_data",))
        assert wire(d.build_error_reply("201000000012", 0x11, 0x02), v.S8_RSP) == v.S8_RSP

    def test_it_builds_c6_trip_and_accepts_its_ack(self):
        frame = d.build_relay_control(
            "558890213594", RelayAction.TRIP, auth=Auth(), deadline=dt.datetime(2021, 7, 9, 23, 59, 59)
        )
        assert wire(frame, v.C6_REQ) == v.C6_REQ
        cmd = d.parse_relay_control(d.decode_frame(v.C6_REQ))
        assert (cmd.action, cmd.auth, cmd.n2) == (RelayAction.TRIP, Auth(0x02, "000000", "00000000"), 0)
        assert cmd.deadline == dt.datetime(2021, 7, 9, 23, 59, 59)
        d.parse_ack(d.decode_frame(v.C6_RSP), 0x1C, expected_address="558890213594")
        assert wire(d.build_ack("558890213594", 0x1C), v.C6_RSP) == v.C6_RSP

    def test_it_builds_c7_direct_close(self):
        frame = d.build_relay_control(
            "558890213594", RelayAction.DIRECT_CLOSE, auth=Auth(), deadline=dt.datetime(2021, 7, 7, 18, 40, 2)
        )
        assert wire(frame, v.C7_REQ) == v.C7_REQ

    @pytest.mark.parametrize("n1", sorted(v.DERIVED_1C))
    def test_it_builds_every_derived_relay_frame(self, n1):
        expected = v.derived_1c(*v.DERIVED_1C[n1])
        frame = d.build_relay_control("201000000012", RelayAction(n1), auth=Auth(), deadline=TRIP_DEADLINE)
        assert d.encode_frame(frame) == expected
        assert d.parse_relay_control(d.decode_frame(expected)).action == n1

    def test_it_builds_the_derived_status_word_read(self):
        assert d.encode_frame(d.build_read("201000000012", 0x04000503)) == v.READ_04000503

    def test_it_builds_r1_read_of_an_unregistered_di(self):
        assert d.encode_frame(d.build_read("202208310002", 0x028022FF)) == v.R1
        reply = d.parse_read_reply(d.build_read_reply("202208310002", 0x028022FF, b"\x01\x02"))
        assert (reply.known, reply.value, reply.data) == (False, None, b"\x01\x02")

    def test_it_builds_w1_write_with_password_and_operator(self):
        frame = d.build_write_raw("210819098948", 0x0A020000, b"\x00\x00", Auth())
        assert d.encode_frame(frame) == v.W1
        req = d.parse_write_request(d.decode_frame(v.W1))
        assert (req.di, req.auth, req.payload) == (0x0A020000, Auth(), b"\x00\x00")

    def test_it_sends_passwords_and_operator_codes_low_byte_first(self):
        frame = d.build_write("000000000001", 0x04001001, Decimal("10.00"), Auth(0x04, "123456", "AABBCCDD"))
        assert frame.data[4:12] == bytes.fromhex("04 563412 DDCCBBAA")
        assert d.parse_write_request(frame).auth == Auth(0x04, "123456", "aabbccdd")

    def test_it_builds_the_correct_broadcast_time_seconds_first(self):
        when = dt.datetime(2026, 11, 23, 10, 30, 45)
        assert d.encode_frame(d.build_broadcast_time(when)) == v.TIME_OK
        assert d.parse_broadcast_time(d.decode_frame(v.TIME_OK)) == when

    def test_it_rejects_the_dlt645_library_byte_order_as_an_invalid_time(self):
        with pytest.raises(ProtocolError) as info:
            d.parse_broadcast_time(d.decode_frame(v.TIME_DLT645_BUG))
        assert info.value.code == "bad_value"

    def test_it_handles_the_1997_frames(self):
        assert (
            d.encode_frame(d.build_read("000003430163", 0x9010, version=Version.V1997), preamble=False)
            == v.V97A
        )
        reply = d.parse_read_reply(d.decode_frame(v.V97B), version=Version.V1997, expected_di=0x9010)
        assert (reply.address, reply.value) == ("138000130754", Decimal("0.01"))
        assert d.encode_frame(d.build_read("3", 0xB611, version=Version.V1997), preamble=False) == v.V97C_REQ
        reply = d.parse_read_reply(d.decode_frame(v.V97C_RSP), version=Version.V1997)
        assert (reply.di, reply.value) == (0xB611, 100)
        rebuilt = d.build_read_reply("000000000003", 0xB611, 100, version=Version.V1997)
        assert d.encode_frame(rebuilt, preamble=False) == v.V97C_RSP

    def test_it_does_not_parse_a_2007_reply_as_1997(self):
        with pytest.raises(ProtocolError) as info:
            d.parse_read_reply(d.decode_frame(v.S7_RSP), version=Version.V1997)
        assert info.value.code == "unexpected_control"


class Dlt645LinkLayerTestCase:
    def test_it_rejects_a_bad_checksum(self):
        bad = bytearray(v.S7_RSP)
        bad[-2] ^= 0x01
        with pytest.raises(ProtocolError) as info:
            d.decode_frame(bytes(bad))
        assert info.value.code == "checksum"

    def test_it_rejects_a_changed_data_byte_via_the_checksum(self):
        bad = bytearray(v.S7_RSP)
        bad[14] += 1
        with pytest.raises(ProtocolError, match="checksum"):
            d.decode_frame(bytes(bad))

    @pytest.mark.parametrize(
        ("raw", "code"),
        [
            (b"", "truncated"),
            (b"\xfe\xfe\xfe", "truncated"),
            (v.S7_RSP[:-1], "truncated"),
            (v.S7_RSP[:5], "truncated"),
            (b"\x00" + v.S7_RSP, "bad_start"),
            (v.S7_RSP[:7] + b"\x00" + v.S7_RSP[8:], "bad_start"),
            (v.S7_RSP[:-1] + b"\x17", "bad_end"),
            (v.S7_RSP + b"\x00", "trailing"),
            (
                bytes.fromhex("68 1A 00 00 00 00 00 68 13 00")
                + bytes([(0x68 * 2 + 0x1A + 0x13) & 0xFF, 0x16]),
                "bad_address",
            ),
        ],
    )
    def test_it_names_what_is_wrong(self, raw, code):
        with pytest.raises(ProtocolError) as info:
            d.decode_frame(raw)
        assert info.value.code == code

    def test_it_skips_any_number_of_fe(self):
        assert d.decode_frame(b"\xfe" + v.S1_RSP) == d.decode_frame(b"\xfe" * 9 + v.S1_RSP)

    def test_it_checks_the_reply_address_with_wildcards(self):
        frame = d.decode_frame(v.S7_RSP)
        d.parse_read_reply(frame, expected_address="AAAAAAAAAAAA")
        d.parse_read_reply(frame, expected_address="AAAAAAAA0012")
        with pytest.raises(ProtocolError) as info:
            d.parse_read_reply(frame, expected_address="201000000013")
        assert info.value.code == "address_mismatch"

    def test_it_checks_the_reply_di(self):
        with pytest.raises(ProtocolError) as info:
            d.parse_read_reply(d.decode_frame(v.S7_RSP), expected_di=0x00900201)
        assert info.value.code == "di_mismatch"

    def test_it_flags_follow_up_frames(self):
        frame = d.build_read_reply("201000000012", 0x00900200, Decimal("1.00"), follow_up=True)
        assert frame.control == 0xB1 and d.has_follow_up(frame.control)
        assert d.parse_read_reply(frame).follow_up

    def test_it_reads_control_bits(self):
        assert d.is_reply(0x91) and not d.is_error(0x91) and not d.is_reply(0x11)
        assert d.is_error(0xD1) and d.function(0xD1) == 0x11
        assert d.reply_control(0x1C, error=True) == 0xDC
        assert not d.is_error(0x51)  # D6 alone on a request is not an error reply

    def test_it_rejects_bad_addresses_when_building(self):
        for bad in ("12345678901X", "1234567890123", "A1AAAAAAAAAA"):
            with pytest.raises(ValueError):
                d.build_read(bad, 0x00010000)
        assert d.normalize_address("12") == "000000000012"


class Dlt645ErrorReplyTestCase:
    def test_it_decodes_standard_error_bits(self):
        err = d.error_reply(d.build_error_reply("1", 0x14, 0b0000_0101))
        assert (err.function, err.err, err.flags) == (0x14, 5, ("other", "unauthorized"))

    def test_it_decodes_the_remote_control_extended_word(self):
        err = d.error_reply(d.build_error_reply("1", 0x1C, 0x10))
        assert err.flags == ("deadline_invalid",)
        err = d.error_reply(d.build_error_reply("1", 0x1C, 0x120))
        assert err.flags == ("keep_power_active", "auto_recovery_error_8")

    def test_it_raises_the_error_from_parse_ack(self):
        with pytest.raises(MeterErrorReply) as info:
            d.parse_ack(d.build_error_reply("558890213594", 0x1C, 0x20), 0x1C)
        assert info.value.flags == ("keep_power_active",)

    def test_it_rejects_an_error_reply_without_err(self):
        with pytest.raises(ProtocolError) as info:
            d.error_reply(d.Frame("1", 0xD1, b""))
        assert info.value.code == "bad_length"

    def test_it_names_unknown_bits(self):
        assert d.error_flags(0x11, 0x80) == ("bit7",)
