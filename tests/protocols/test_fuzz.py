"""Fuzz tests: random and mutated input into every decoder / parser / reader.

The contract: bad input raises ProtocolError (or a subclass) — never any other exception — and
stream readers never raise at all.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prepay.domain.protocols import ProtocolError, cjt188, modbus, mqtt
from prepay.domain.protocols import dlt645 as d
from prepay.domain.protocols.dlt645 import Version

from . import vectors as v
from .strategies import addresses_with_wildcards

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def only_protocol_errors(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except ProtocolError:
        return None


def parse_every_way_645(frame: d.Frame) -> None:
    for version in (Version.V2007, Version.V1997):
        only_protocol_errors(d.parse_read_reply, frame, version=version, expected_address="201000000012")
        only_protocol_errors(d.parse_read_request, frame, version=version)
        only_protocol_errors(d.parse_write_request, frame, version=version)
    only_protocol_errors(d.parse_relay_control, frame)
    only_protocol_errors(d.parse_broadcast_time, frame)
    only_protocol_errors(d.parse_read_address_reply, frame)
    only_protocol_errors(d.parse_ack, frame, 0x1C)
    only_protocol_errors(d.error_reply, frame)


def parse_every_way_188(frame: cjt188.Frame) -> None:
    for layout in cjt188.StatusLayout:
        only_protocol_errors(cjt188.parse_read_reply, frame, layout=layout, expected_address="78330011223344")
        only_protocol_errors(cjt188.parse_valve_reply, frame, layout=layout)
    only_protocol_errors(cjt188.parse_valve_command, frame)


def mutations(raw: bytes) -> list[bytes]:
    out = []
    for i in range(len(raw)):
        for delta in (0x01, 0x80, 0xFF):
            m = bytearray(raw)
            m[i] ^= delta
            out.append(bytes(m))
        out.append(raw[:i] + raw[i + 1 :])  # deletion
        out.append(raw[:i] + b"\x68" + raw[i:])  # insertion of a start byte
    return out


class Dlt645FuzzTestCase:
    @FUZZ
    @given(st.binary(max_size=300))
    def test_decode_frame_raises_only_protocol_errors(self, raw):
        frame = only_protocol_errors(d.decode_frame, raw)
        if frame is not None:
            parse_every_way_645(frame)

    @FUZZ
    @given(st.sampled_from(v.ALL_645), st.binary(min_size=1, max_size=40), st.integers(0, 300))
    def test_decode_frame_survives_spliced_frames(self, raw, junk, at):
        at = min(at, len(raw))
        only_protocol_errors(d.decode_frame, raw[:at] + junk + raw[at:])

    @FUZZ
    @given(addresses_with_wildcards, st.integers(0, 255), st.binary(max_size=255))
    def test_every_parser_raises_only_protocol_errors_on_any_frame(self, address, control, data):
        parse_every_way_645(d.Frame(address, control, data))

    @FUZZ
    @given(st.sampled_from(sorted(d.REGISTRY[Version.V2007])), st.binary(max_size=24))
    def test_decode_value_raises_only_protocol_errors(self, di, raw):
        only_protocol_errors(d.decode_value, di, raw)

    @FUZZ
    @given(st.sampled_from(sorted(d.REGISTRY[Version.V2007])), st.integers(0, 255), st.data())
    def test_decode_value_survives_right_length_noise(self, di, _seed, data):
        raw = data.draw(st.binary(min_size=d.lookup(di).length, max_size=d.lookup(di).length))
        only_protocol_errors(d.decode_value, di, raw)
        for di97 in d.REGISTRY[Version.V1997]:
            only_protocol_errors(
                d.decode_value, di97, raw[: d.lookup(di97, Version.V1997).length], Version.V1997
            )

    @FUZZ
    @given(st.lists(st.binary(max_size=64), max_size=12))
    def test_frame_reader_never_raises(self, chunks):
        reader = d.FrameReader()
        for chunk in chunks:
            for frame in reader.feed(chunk):
                assert d.decode_frame(d.encode_frame(frame)) == frame
                parse_every_way_645(frame)

    def test_every_mutation_of_every_spec_frame_raises_only_protocol_errors(self):
        for raw in v.ALL_645:
            for m in mutations(raw):
                frame = only_protocol_errors(d.decode_frame, m)
                if frame is not None:
                    parse_every_way_645(frame)
                for f in d.FrameReader().feed(m):
                    parse_every_way_645(f)


class Cjt188FuzzTestCase:
    @FUZZ
    @given(st.binary(max_size=300))
    def test_decode_frame_raises_only_protocol_errors(self, raw):
        frame = only_protocol_errors(cjt188.decode_frame, raw)
        if frame is not None:
            parse_every_way_188(frame)

    @FUZZ
    @given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=60))
    def test_every_parser_raises_only_protocol_errors_on_any_frame(self, meter_type, control, data):
        parse_every_way_188(cjt188.Frame(meter_type, "78330011223344", control, data))

    @FUZZ
    @given(st.integers(0, 255), st.binary(min_size=19, max_size=25))
    def test_read_reply_payload_noise_raises_only_protocol_errors(self, ser, payload):
        frame = cjt188.Frame(0x10, "78330011223344", 0x81, cjt188.DI_READ_DATA + bytes([ser]) + payload)
        parse_every_way_188(frame)

    @FUZZ
    @given(st.lists(st.binary(max_size=64), max_size=12))
    def test_frame_reader_never_raises(self, chunks):
        reader = cjt188.FrameReader()
        for chunk in chunks:
            for frame in reader.feed(chunk):
                parse_every_way_188(frame)

    def test_every_mutation_of_every_spec_frame_raises_only_protocol_errors(self):
        for raw in [*v.ALL_188, v.CJT_REPLY_PAGE[:-2] + b"\x13\x16"]:
            for m in mutations(raw):
                frame = only_protocol_errors(cjt188.decode_frame, m)
                if frame is not None:
                    parse_every_way_188(frame)


json_leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.decimals(allow_nan=False, allow_infinity=False, places=3)
)
json_values = st.recursive(
    json_leaf,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=12,
)
ENVELOPE_KEYS = [
    "msgid",
    "method",
    "sn",
    "timestamp",
    "payload",
    "res",
    "errcode",
    "type",
    "compress",
    "encrypt",
    "EPI",
]
json_objects = st.dictionaries(st.sampled_from(ENVELOPE_KEYS) | st.text(max_size=6), json_values, max_size=8)
TOPICS = [
    "data/up/pk/sn1",
    "sys/dev/pk/sn1",
    "indicate/dev/pk/sn1",
    "indicate/server/pk/sn1",
    "sys/server/pk/sn1",
    "/gw/acrelHW/ADW300/login/sn1",
    "/server/acrelHW/ADW300/login/sn1",
]


def to_json(obj: Any) -> bytes:
    return json.dumps(obj, default=str).encode()


class MqttFuzzTestCase:
    @FUZZ
    @given(st.text(max_size=60) | st.sampled_from(TOPICS), st.binary(max_size=200))
    def test_parsers_raise_only_protocol_errors_on_any_bytes(self, topic, payload):
        only_protocol_errors(mqtt.parse_uplink, topic, payload)
        only_protocol_errors(mqtt.parse_downlink, topic, payload)

    @FUZZ
    @given(st.sampled_from(TOPICS), json_objects)
    def test_parsers_raise_only_protocol_errors_on_any_json_object(self, topic, obj):
        payload = to_json(obj)
        only_protocol_errors(mqtt.parse_uplink, topic, payload)
        only_protocol_errors(mqtt.parse_downlink, topic, payload)

    @FUZZ
    @given(st.sampled_from(TOPICS), json_values)
    def test_parsers_raise_only_protocol_errors_on_any_json(self, topic, value):
        only_protocol_errors(mqtt.parse_uplink, topic, to_json(value))
        only_protocol_errors(mqtt.parse_downlink, topic, to_json(value))

    def test_parsers_survive_pathological_json(self):
        for payload in (
            b"[" * 100_000,
            b'{"a":' * 50_000,
            b"1" * 5000,
            b"NaN",
            b'{"x": Infinity}',
            b"\xff\xfe",
        ):
            for topic in TOPICS:
                only_protocol_errors(mqtt.parse_uplink, topic, payload)
                only_protocol_errors(mqtt.parse_downlink, topic, payload)

    @FUZZ
    @given(json_objects)
    def test_telemetry_number_raises_only_protocol_errors(self, values):
        t = mqtt.Telemetry("pk", "sn", None, None, values)
        for name in list(values)[:3] + ["missing"]:
            only_protocol_errors(t.number, name)


register_values = st.integers(0, 0xFFFF) | st.integers(-5, 0x1FFFF)


class ModbusFuzzTestCase:
    @FUZZ
    @given(
        st.sampled_from(modbus.available_models()),
        st.lists(register_values, max_size=40),
        st.integers(0, 0x900),
    )
    def test_decode_registers_raises_only_protocol_errors(self, model, registers, start):
        regmap = modbus.load_map(model)
        only_protocol_errors(modbus.decode_registers, regmap, registers, start=start)
        for a, _ in regmap.read_blocks():
            only_protocol_errors(modbus.decode_registers, regmap, registers, start=a, ct=Decimal(40), pt=100)

    @FUZZ
    @given(
        json_values
        | json_objects
        | st.fixed_dictionaries({"model": st.just("m"), "points": st.lists(json_objects, max_size=3)})
    )
    def test_map_from_dict_raises_only_protocol_errors(self, data):
        only_protocol_errors(modbus.map_from_dict, data)

    @FUZZ
    @given(st.text(max_size=30))
    def test_load_map_raises_only_protocol_errors(self, name):
        only_protocol_errors(modbus.load_map, name)


class BuilderArgumentFuzzTestCase:
    """Builders reject bad arguments with EncodeError (a ProtocolError and a ValueError)."""

    @FUZZ
    @given(st.text(max_size=14), st.integers(-1, 1 << 33), st.text(max_size=10), st.text(max_size=10))
    def test_dlt645_builders_raise_only_protocol_errors(self, address, di, password, operator):
        only_protocol_errors(d.build_read, address, di)
        auth = only_protocol_errors(d.Auth, 2, password, operator)
        if auth is not None:
            only_protocol_errors(d.build_write_raw, address, di, b"", auth)
            only_protocol_errors(
                d.build_relay_control,
                address,
                d.RelayAction.TRIP,
                auth=auth,
                deadline=dt.datetime(2030, 1, 1),
            )

    @FUZZ
    @given(st.text(max_size=16), st.integers(-1, 300), st.integers(-1, 300))
    def test_cjt188_builders_raise_only_protocol_errors(self, address, ser, meter_type):
        only_protocol_errors(cjt188.build_read, address, ser=ser, meter_type=meter_type)
        only_protocol_errors(cjt188.build_valve, address, True, ser=ser, meter_type=meter_type)
