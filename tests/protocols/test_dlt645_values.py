"""DL/T 645 data formats, BCD edge cases and the DI registry."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from prepay.domain.protocols import EncodeError, ProtocolError, bcd
from prepay.domain.protocols import dlt645 as d
from prepay.domain.protocols.dlt645 import Version


class BcdTestCase:
    def test_it_converts_packed_bcd(self):
        assert bcd.bcd_to_int(0x99) == 99 and bcd.int_to_bcd(7) == 0x07
        assert bcd.digits_le(b"\x34\x12") == "1234"
        assert bcd.from_digits_le("1234", 3) == b"\x34\x12\x00"
        assert bcd.uint_le(0, 2) == b"\x00\x00" and bcd.le_uint(b"\x99\x99") == 9999

    @pytest.mark.parametrize("byte", [0x0A, 0xA0, 0xFF, 0x9F, 0xF9])
    def test_it_rejects_nibbles_above_nine(self, byte):
        with pytest.raises(ProtocolError) as info:
            bcd.bcd_to_int(byte)
        assert info.value.code == "bcd"

    @pytest.mark.parametrize(("value", "length"), [(-1, 1), (100, 1), (10**8, 4)])
    def test_it_refuses_values_that_do_not_fit(self, value, length):
        with pytest.raises(EncodeError):
            bcd.uint_le(value, length)

    @pytest.mark.parametrize("bad", ["12a", "١٢", "123", "-1", " 1"])
    def test_it_refuses_non_digits(self, bad):
        with pytest.raises(EncodeError):
            bcd.from_digits_le(bad, 1)

    def test_it_scrambles_with_0x33_modulo_256(self):
        assert bcd.add33(b"\x00\xcd\xff") == b"\x33\x00\x32"
        assert bcd.sub33(b"\x33\x00\x32") == b"\x00\xcd\xff"


class Dlt645FormatsTestCase:
    def test_it_reads_the_sign_bit_of_signed_items(self):
        assert d.decode_value(0x02020100, bytes.fromhex("38 02 80")) == Decimal("-0.238")
        assert d.encode_value(0x02020100, Decimal("-0.238")) == bytes.fromhex("38 02 80")
        assert d.decode_value(0x02030000, bytes.fromhex("00 00 80")) == Decimal("0.0000")  # −0 is 0

    def test_it_limits_signed_items_to_seven_in_the_top_digit(self):
        assert d.encode_value(0x02020100, Decimal("799.999")) == bytes.fromhex("99 99 79")
        with pytest.raises(EncodeError):
            d.encode_value(0x02020100, Decimal("800.000"))

    def test_it_treats_unsigned_items_top_bit_as_bcd(self):
        assert d.decode_value(0x00900200, bytes.fromhex("00 00 00 80")) == Decimal("800000.00")

    def test_it_keeps_exact_decimal_places(self):
        value = d.decode_value(0x00900200, bytes.fromhex("00 00 00 00"))
        assert str(value) == "0.00"
        assert str(d.decode_value(0x04050101, bytes.fromhex("00 50 00 00"))) == "0.5000"

    @pytest.mark.parametrize(
        "value", [Decimal("1.001"), Decimal("-1"), Decimal("1000000"), Decimal("NaN"), 1.5, True, "1"]
    )
    def test_it_refuses_values_the_format_cannot_hold(self, value):
        with pytest.raises(EncodeError):
            d.encode_value(0x00900200, value)

    def test_it_accepts_trailing_zero_places(self):
        assert d.encode_value(0x00900200, Decimal("198.5600")) == bytes.fromhex("56 98 01 00")
        assert d.encode_value(0x00900200, 198) == bytes.fromhex("00 98 01 00")

    def test_it_reports_ff_fill_as_absent(self):
        assert d.decode_value(0x00900200, b"\xff" * 4) is None
        assert d.decode_value(0x04000101, b"\xff" * 4) is None
        assert d.decode_value(0x0400040E, b"\xff" * 6) is None

    def test_it_rejects_wrong_item_lengths(self):
        with pytest.raises(ProtocolError) as info:
            d.decode_value(0x00900200, b"\x00" * 3)
        assert info.value.code == "bad_length"

    @pytest.mark.parametrize(
        ("di", "raw"),
        [
            (0x04000101, "01 32 01 16"),  # 32nd
            (0x04000101, "01 01 13 16"),  # month 13
            (0x04000102, "60 00 00"),  # 60 s
            (0x1D000101, "00 00 24 01 01 26"),  # 24 h
            (0x04000101, "01 1A 01 16"),  # not BCD
        ],
    )
    def test_it_rejects_impossible_dates_and_times(self, di, raw):
        with pytest.raises(ProtocolError) as info:
            d.decode_value(di, bytes.fromhex(raw))
        assert info.value.code in ("bad_value", "bcd")

    def test_it_round_trips_dates_times_and_digit_strings(self):
        assert d.encode_value(0x04000101, dt.date(2016, 1, 11)) == bytes.fromhex("01 11 01 16")
        assert d.decode_value(0x1D000101, bytes.fromhex("59 59 23 31 12 26")) == dt.datetime(
            2026, 12, 31, 23, 59, 59
        )
        assert d.encode_value(0x0400040E, "000000001234") == bytes.fromhex("34 12 00 00 00 00")
        with pytest.raises(EncodeError):
            d.encode_value(0x1D000101, dt.datetime(1999, 1, 1))


class Dlt645RegistryTestCase:
    def test_it_knows_the_spec_table(self):
        for di in (
            0x00000000, 0x00010000, 0x00020000, 0x0001FF00, 0x02010100, 0x0201FF00, 0x02020100, 0x02030000,
            0x02800002, 0x04000101, 0x04000102, 0x04000401, 0x0400040E, 0x04000306, 0x04000307, 0x04000503,
            0x00900100, 0x00900101, 0x00900200, 0x00900201, 0x04001001, 0x04001002, 0x04001003, 0x04001004,
            0x04001005, 0x04050101, 0x04050104, 0x040501FF, 0x03330201, 0x1D000101, 0x1E000101, 0x03300D00,
        ):  # fmt: skip
            assert d.lookup(di).di == di
        for di in (0x9010, 0x901F, 0xB611, 0xB621, 0xB630, 0xC010, 0xC011, 0xD113):
            item = d.lookup(di, Version.V1997)
            assert item.equivalent is not None and d.lookup(item.equivalent).name == item.name

    def test_it_looks_items_up_by_name(self):
        assert d.lookup("remaining_money").di == 0x00900200
        assert d.decode_value("remaining_money", bytes.fromhex("56 98 01 00")) == Decimal("198.56")

    def test_it_raises_unknown_di(self):
        with pytest.raises(ProtocolError) as info:
            d.decode_value(0x03010000, b"")
        assert info.value.code == "unknown_di"
        with pytest.raises(ProtocolError):
            d.lookup(0x00010000, Version.V1997)

    def test_it_decodes_status_word_3(self):
        word = d.StatusWord3(0b1101_0010_1101_0000)
        assert word.relay_open and word.relay_command_open and word.pre_trip_alarm
        assert word.meter_type == "money_prepaid" and word.keep_power
        assert word.local_account_opened and word.remote_account_opened
        empty = d.StatusWord3(0)
        assert not empty.relay_open and empty.meter_type == "non_prepaid" and not empty.keep_power
        assert d.decode_value(0x04000503, b"\x10\x01") == 0x0110
