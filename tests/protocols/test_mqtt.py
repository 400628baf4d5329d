"""MQTT topics and JSON payloads of Acrel 4G meters."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prepay.domain.protocols import EncodeError, ProtocolError, mqtt

segments = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=16)
msgids = st.integers(0, 2**40) | segments


def j(obj: object) -> bytes:
    return json.dumps(obj).encode()


class MqttUplinkTestCase:
    def test_it_parses_telemetry_numbers_as_decimals(self):
        payload = b'{"msgid":7,"method":"data","sn":"M1","timestamp":1700000000,"payload":{"EPI":123.45,"Balance":"12.30","BuyTimes":3,"SwitchSta":1}}'
        msg = mqtt.parse_uplink("data/up/pk1/M1", payload)
        assert isinstance(msg, mqtt.Telemetry)
        assert (msg.product_key, msg.sn, msg.msgid, msg.timestamp) == ("pk1", "M1", 7, 1700000000)
        assert msg.values["EPI"] == Decimal("123.45") and not isinstance(msg.values["EPI"], float)
        assert msg.number("Balance") == Decimal("12.30") and msg.number("BuyTimes") == 3

    def test_it_refuses_non_numbers_where_numbers_are_asked(self):
        msg = mqtt.parse_uplink("data/up/pk/M1", b'{"payload":{"a":"x","b":true,"c":null,"d":"NaN"}}')
        assert isinstance(msg, mqtt.Telemetry)
        for name, code in (
            ("a", "bad_type"),
            ("b", "bad_type"),
            ("c", "bad_type"),
            ("d", "bad_type"),
            ("z", "missing_field"),
        ):
            with pytest.raises(ProtocolError) as info:
                msg.number(name)
            assert info.value.code == code

    def test_it_parses_command_acks(self):
        ok = mqtt.parse_uplink("indicate/dev/pk/M1", b'{"msgid":"abc","res":1}')
        assert ok == mqtt.CommandAck("pk", "M1", "abc", True, None)
        failed = mqtt.parse_uplink("indicate/dev/pk/M1", b'{"res":0,"errcode":"503"}')
        assert failed == mqtt.CommandAck("pk", "M1", None, False, "503")

    def test_it_parses_sys_messages(self):
        msg = mqtt.parse_uplink("sys/dev/pk/M1", b'{"method":"login","msgid":1,"payload":{"ver":1011}}')
        assert isinstance(msg, mqtt.SysMessage) and msg.method == "login" and msg.payload == {"ver": 1011}

    def test_it_parses_acrelhw_login(self):
        body = b'{"type":"login","gwSN":"12209263660002","time":"20221008105559","ver":1011,"rssi":48,"ccid":"x","imei":"y"}'
        msg = mqtt.parse_uplink("/gw/acrelHW/ADW300/login/12209263660002", body)
        assert isinstance(msg, mqtt.HwMessage)
        assert (msg.sender, msg.product, msg.cmd, msg.sn, msg.type) == (
            "gw",
            "ADW300",
            "login",
            "12209263660002",
            "login",
        )
        assert msg.body["ver"] == 1011

    @pytest.mark.parametrize(
        ("topic", "payload", "code"),
        [
            ("data/up/pk", b"{}", "bad_topic"),
            ("data/down/pk/M1", b"{}", "bad_topic"),
            ("data/up/+/M1", b"{}", "bad_topic"),
            ("data/up//M1", b'{"payload":{}}', "bad_topic"),
            ("", b"{}", "bad_topic"),
            ("data/up/pk/M1", b"not json", "bad_json"),
            ("data/up/pk/M1", b"\xff\xfe", "bad_json"),
            ("data/up/pk/M1", b'{"payload":{"EPI":NaN}}', "bad_json"),
            ("data/up/pk/M1", b"[" * 100000, "bad_json"),
            ("data/up/pk/M1", b"x" * (mqtt.MAX_PAYLOAD + 1), "bad_json"),
            ("data/up/pk/M1", b"[1]", "bad_type"),
            ("data/up/pk/M1", b"{}", "missing_field"),
            ("data/up/pk/M1", b'{"payload":[]}', "bad_type"),
            ("data/up/pk/M1", b'{"payload":{},"msgid":true}', "bad_type"),
            ("data/up/pk/M1", b'{"payload":{},"timestamp":1.5}', "bad_type"),
            ("data/up/pk/M1", b'{"payload":{},"sn":"M2"}', "address_mismatch"),
            ("data/up/pk/M1", b'{"payload":{},"compress":"LZO"}', "unsupported"),
            ("indicate/dev/pk/M1", b'{"msgid":1}', "missing_field"),
            ("indicate/dev/pk/M1", b'{"res":"1"}', "bad_type"),
            ("indicate/dev/pk/M1", b'{"res":true}', "bad_type"),
            ("indicate/dev/pk/M1", b'{"res":0,"errcode":[1]}', "bad_type"),
            ("sys/dev/pk/M1", b'{"msgid":1}', "missing_field"),
            ("/gw/acrelHW/ADW300/login/1", b'{"type":"heart"}', "bad_type"),
            ("/gw/acrelHW/ADW300/login/1", b'{"res":1}', "missing_field"),
            ("/server/acrelHW/ADW300/login/1", b'{"type":"login"}', "bad_topic"),
        ],
    )
    def test_it_names_what_is_wrong(self, topic, payload, code):
        with pytest.raises(ProtocolError) as info:
            mqtt.parse_uplink(topic, payload)
        assert info.value.code == code


class MqttDownlinkTestCase:
    def test_it_builds_the_meterpro_force_switch_command(self):
        topic, payload = mqtt.build_force_switch(
            "pk1", "M1", msgid=42, timestamp=1700000000, do1=0, force_switch=1
        )
        assert topic == "indicate/server/pk1/M1"
        assert json.loads(payload) == {
            "method": "operate",
            "msgid": 42,
            "sn": "M1",
            "timestamp": 1700000000,
            "payload": {
                "addr": "M1",
                "do1": 0,
                "forceSwitch": 1,
                "meterName": "DDSY1352-IOT",
                "method": "FORCESWITCH",
            },
        }
        cmd = mqtt.parse_downlink(topic, payload)
        assert isinstance(cmd, mqtt.Command) and cmd.msgid == 42 and cmd.payload["method"] == "FORCESWITCH"

    def test_it_correlates_acks_by_msgid(self):
        _, payload = mqtt.build_force_switch("pk", "M1", msgid="c-1", timestamp=1, do1=1, force_switch=1)
        cmd = mqtt.parse_downlink("indicate/server/pk/M1", payload)
        assert isinstance(cmd, mqtt.Command)
        ack = mqtt.parse_uplink(*mqtt.build_ack("pk", "M1", msgid=cmd.msgid, ok=True))
        assert isinstance(ack, mqtt.CommandAck) and ack.msgid == "c-1" and ack.ok

    def test_it_writes_decimals_as_exact_json_numbers(self):
        _, payload = mqtt.build_telemetry(
            "pk", "M1", msgid=1, timestamp=1, values={"Balance": Decimal("0.10")}
        )
        assert b'"Balance":0.10' in payload
        msg = mqtt.parse_uplink("data/up/pk/M1", payload)
        assert isinstance(msg, mqtt.Telemetry) and str(msg.number("Balance")) == "0.10"

    def test_it_builds_the_acrelhw_login_reply(self):
        topic, payload = mqtt.build_hw("ADW300", "login", "12209263660002", {"res": 1})
        assert topic == "/server/acrelHW/ADW300/login/12209263660002"
        assert json.loads(payload) == {"type": "login", "res": 1}
        assert mqtt.parse_downlink(topic, payload).body["res"] == 1  # type: ignore[union-attr]

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"msgid": True},
            {"msgid": ""},
            {"do1": 2},
            {"force_switch": True},
        ],
    )
    def test_it_refuses_bad_command_arguments(self, kwargs):
        args = {"msgid": 1, "timestamp": 1, "do1": 0, "force_switch": 0, **kwargs}
        with pytest.raises(EncodeError):
            mqtt.build_force_switch("pk", "M1", **args)

    def test_it_refuses_floats_and_bad_topic_segments(self):
        with pytest.raises(EncodeError):
            mqtt.build_command("pk", "M1", msgid=1, timestamp=1, payload={"x": 1.5})
        for bad in ("", "a/b", "+", "#"):
            with pytest.raises(EncodeError):
                mqtt.build_command(bad, "M1", msgid=1, timestamp=1, payload={})

    def test_it_requires_a_msgid_on_commands(self):
        with pytest.raises(ProtocolError) as info:
            mqtt.parse_downlink("indicate/server/pk/M1", b'{"method":"operate","payload":{}}')
        assert info.value.code == "missing_field"


class MqttRoundTripTestCase:
    @given(
        segments,
        segments,
        msgids,
        st.integers(0, 2**41),
        st.dictionaries(
            segments,
            st.integers()
            | segments
            | st.decimals(allow_nan=False, allow_infinity=False, places=2)
            | st.booleans()
            | st.none(),
            max_size=6,
        ),
    )
    def test_it_round_trips_commands(self, pk, sn, msgid, ts, body):
        topic, payload = mqtt.build_command(pk, sn, msgid=msgid, timestamp=ts, payload=body)
        cmd = mqtt.parse_downlink(topic, payload)
        assert cmd == mqtt.Command("indicate", pk, sn, msgid, "operate", ts, body)

    @given(
        segments,
        segments,
        msgids,
        st.dictionaries(
            st.sampled_from(mqtt.ACREL_TELEMETRY_FIELDS),
            st.decimals(allow_nan=False, allow_infinity=False, places=3),
            max_size=8,
        ),
    )
    def test_it_round_trips_telemetry(self, pk, sn, msgid, values):
        msg = mqtt.parse_uplink(
            *mqtt.build_telemetry(pk, sn, msgid=msgid, timestamp="20260101000000", values=values)
        )
        assert isinstance(msg, mqtt.Telemetry)
        assert {k: msg.number(k) for k in values} == values

    @given(segments, segments, msgids | st.none(), st.booleans(), segments | st.none())
    def test_it_round_trips_acks(self, pk, sn, msgid, ok, errcode):
        ack = mqtt.parse_uplink(*mqtt.build_ack(pk, sn, msgid=msgid, ok=ok, errcode=errcode))
        assert ack == mqtt.CommandAck(pk, sn, msgid, ok, errcode)

    @given(segments, segments, segments, st.dictionaries(segments, st.integers() | segments, max_size=4))
    def test_it_round_trips_acrelhw(self, product, cmd, sn, body):
        topic, payload = mqtt.build_hw(product, cmd, sn, body, sender="gw")
        msg = mqtt.parse_uplink(topic, payload)
        assert isinstance(msg, mqtt.HwMessage) and msg.body == {
            "type": cmd,
            **{k: x for k, x in body.items() if k != "type"},
        }
