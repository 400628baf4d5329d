"""Modbus register maps (data files) and value scaling."""

from __future__ import annotations

import struct
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prepay.domain.protocols import EncodeError, MapError, ProtocolError, modbus


def words32(value: int, *, signed: bool = False) -> list[int]:
    raw = value.to_bytes(4, "big", signed=signed)
    return [int.from_bytes(raw[:2], "big"), int.from_bytes(raw[2:], "big")]


def float_words(value: float) -> list[int]:
    raw = struct.pack(">f", value)
    return [int.from_bytes(raw[:2], "big"), int.from_bytes(raw[2:], "big")]


def tiny_map(**point: object) -> modbus.RegisterMap:
    return modbus.map_from_dict({"model": "t", "points": [{"name": "x", "address": 0, **point}]})


class ModbusMapFilesTestCase:
    def test_it_ships_a_single_phase_and_a_three_phase_ct_map(self):
        models = modbus.available_models()
        assert {"acrel_ddsy1352", "acrel_adl3000e", "acrel_adl400", "kaifeng_xintai_water"} <= set(models)
        assert modbus.load_map("acrel_ddsy1352").phases == 1
        adl3000 = modbus.load_map("acrel_adl3000e")
        assert adl3000.phases == 3 and adl3000.point("energy_total").multiplier == "ct_pt"

    @pytest.mark.parametrize("model", modbus.available_models())
    def test_every_map_file_loads_and_is_marked_unverified_until_checked_on_hardware(self, model):
        regmap = modbus.load_map(model)
        assert regmap.model == model and regmap.source and regmap.verified is False
        assert sum(c for _, c in regmap.read_blocks()) >= len(regmap.points)

    def test_it_rejects_unknown_models(self):
        for name in ("nope", "../errors", ""):
            with pytest.raises(MapError):
                modbus.load_map(name)


class ModbusDecodeTestCase:
    def test_it_decodes_the_ddsy1352_table(self):
        regs = [
            *words32(12345),
            *words32(1),
            *words32(2),
            *words32(3),
            *words32(4),
            7,
            2205,
            523,
            0xFFFE,
            0,
            100,
            990,
        ]
        values = modbus.decode_registers(modbus.load_map("acrel_ddsy1352"), regs)
        assert values["energy_total"] == Decimal("123.45")
        assert values["energy_valley"] == Decimal("0.04")
        assert values["voltage"] == Decimal("220.5") and values["current"] == Decimal("5.23")
        assert values["active_power"] == Decimal("-0.002")  # INT16
        assert values["power_factor"] == Decimal("0.990")
        assert all(isinstance(x, Decimal) for x in values.values())

    def test_it_applies_ct_and_pt_to_the_points_that_need_them(self):
        regmap = modbus.load_map("acrel_adl3000e")
        assert modbus.decode_registers(regmap, words32(1000))["energy_total"] == Decimal("10.00")
        assert modbus.decode_registers(regmap, words32(1000), ct=40, pt=Decimal(100))[
            "energy_total"
        ] == Decimal("40000.00")
        one_phase = modbus.load_map("acrel_ddsy1352")
        assert modbus.decode_registers(one_phase, [0, 100], ct=40)["energy_total"] == Decimal("1.00")

    @pytest.mark.parametrize("ratio", [0, -1, Decimal("NaN")])
    def test_it_rejects_non_positive_ratios(self, ratio):
        with pytest.raises(ProtocolError):
            modbus.decode_registers(modbus.load_map("acrel_adl3000e"), [0, 0], ct=ratio)

    def test_it_decodes_float32_at_single_precision(self):
        regmap = modbus.load_map("acrel_adl400")
        values = modbus.decode_registers(regmap, float_words(230.1) + float_words(0.1), start=0x0800)
        assert values == {"voltage_a": Decimal("230.1"), "voltage_b": Decimal("0.1")}

    def test_it_rejects_nan_floats(self):
        with pytest.raises(ProtocolError) as info:
            modbus.decode_registers(modbus.load_map("acrel_adl400"), [0x7FC0, 0], start=0x0800)
        assert info.value.code == "bad_value"

    def test_it_honours_word_order(self):
        big = tiny_map(type="uint32")
        little = tiny_map(type="uint32", word_order="little")
        assert modbus.decode_registers(big, [0x0001, 0x0002])["x"] == 0x00010002
        assert modbus.decode_registers(little, [0x0001, 0x0002])["x"] == 0x00020001
        assert modbus.decode_registers(tiny_map(type="int32"), [0xFFFF, 0xFFFF])["x"] == -1

    def test_it_leaves_out_points_outside_the_block(self):
        regmap = modbus.load_map("acrel_ddsy1352")
        assert set(modbus.decode_registers(regmap, [0, 1, 0], start=0)) == {"energy_total"}
        assert set(modbus.decode_registers(regmap, [2205], start=0x0B)) == {"voltage"}

    @pytest.mark.parametrize("bad", [-1, 0x10000, True, "1"])
    def test_it_rejects_values_that_are_not_registers(self, bad):
        with pytest.raises(ProtocolError) as info:
            modbus.decode_registers(modbus.load_map("acrel_ddsy1352"), [bad], start=0x0B)
        assert info.value.code == "bad_value"


class ModbusWriteTestCase:
    def test_it_encodes_named_values(self):
        regmap = modbus.load_map("kaifeng_xintai_water")
        assert modbus.encode_write(regmap, "valve", "open") == (0x001C, [1])
        assert modbus.encode_write(regmap, "valve", "close") == (0x001C, [2])
        with pytest.raises(EncodeError):
            modbus.encode_write(regmap, "valve", "ajar")

    def test_it_checks_range_and_access(self):
        regmap = modbus.load_map("acrel_ddsy1352")
        assert modbus.encode_write(regmap, "code", 9999) == (0x000A, [9999])
        with pytest.raises(EncodeError):
            modbus.encode_write(regmap, "code", 10000)
        with pytest.raises(MapError):
            modbus.encode_write(regmap, "voltage", 1)
        with pytest.raises(MapError):
            modbus.encode_write(regmap, "nope", 1)

    def test_it_refuses_values_finer_than_the_scale(self):
        regmap = tiny_map(type="uint16", scale="0.01", writable=True)
        assert modbus.encode_write(regmap, "x", Decimal("1.23")) == (0, [123])
        with pytest.raises(EncodeError):
            modbus.encode_write(regmap, "x", Decimal("1.234"))
        with pytest.raises(EncodeError):
            modbus.encode_write(regmap, "x", Decimal("700"))  # 70000 > uint16

    @given(
        st.sampled_from(["int16", "uint16", "int32", "uint32"]),
        st.sampled_from(["big", "little"]),
        st.sampled_from(["1", "0.1", "0.01", "0.001"]),
        st.sampled_from(["none", "ct", "ct_pt"]),
        st.integers(-(2**31), 2**32 - 1),
    )
    def test_it_round_trips_writes_through_decode(self, dtype, order, scale, multiplier, raw):
        bits = 16 if dtype.endswith("16") else 32
        lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if dtype.startswith("int") else (0, 2**bits - 1)
        raw = min(max(raw, lo), hi)
        regmap = tiny_map(type=dtype, word_order=order, scale=scale, multiplier=multiplier, writable=True)
        value = Decimal(raw) * Decimal(scale) * (Decimal(10) if multiplier != "none" else 1)
        address, words = modbus.encode_write(regmap, "x", value, ct=10, pt=1)
        assert address == 0 and modbus.decode_registers(regmap, words, ct=10, pt=1)["x"] == value

    def test_it_encodes_float32(self):
        regmap = tiny_map(type="float32", writable=True)
        _, words = modbus.encode_write(regmap, "x", Decimal("230.1"))
        assert modbus.decode_registers(regmap, words)["x"] == Decimal("230.1")
        with pytest.raises(EncodeError):
            modbus.encode_write(regmap, "x", Decimal("1e300"))


class ModbusMapValidationTestCase:
    @pytest.mark.parametrize(
        "data",
        [
            [],
            {"points": []},
            {"model": "m", "points": []},
            {"model": "m", "points": [{"name": "x", "address": 0, "type": "int8"}]},
            {"model": "m", "points": [{"name": "x", "address": 65535, "type": "uint32"}]},
            {"model": "m", "points": [{"name": "x", "address": "zz", "type": "uint16"}]},
            {"model": "m", "points": [{"name": "x", "address": 0, "type": "uint16", "scale": 0.1}]},
            {"model": "m", "points": [{"name": "x", "address": 0, "type": "uint16", "scale": "0"}]},
            {"model": "m", "points": [{"name": "x", "address": 0, "type": "uint16", "colour": "red"}]},
            {"model": "m", "points": [{"name": "x", "address": 0, "type": "uint16", "multiplier": "kt"}]},
            {
                "model": "m",
                "points": [
                    {"name": "x", "address": 0, "type": "uint32"},
                    {"name": "y", "address": 1, "type": "uint16"},
                ],
            },
            {
                "model": "m",
                "points": [
                    {"name": "x", "address": 0, "type": "uint16"},
                    {"name": "x", "address": 1, "type": "uint16"},
                ],
            },
            {"model": "m", "phases": 2, "points": [{"name": "x", "address": 0, "type": "uint16"}]},
        ],
    )
    def test_it_rejects_invalid_maps(self, data):
        with pytest.raises(MapError) as info:
            modbus.map_from_dict(data)
        assert info.value.code == "bad_map"

    def test_it_plans_read_blocks(self):
        regmap = modbus.load_map("acrel_adl400")
        assert regmap.read_blocks() == [(0x0800, 18), (0x0832, 4), (0x0842, 22)]
        assert regmap.read_blocks(max_count=10)[0] == (0x0800, 6)
