"""MQTT topics and JSON payloads of 4G meters (Acrel platforms), pure: parse and build, no client.

Two topic families (specs/meter-protocols.md §3.1):

* **Acrel IoT middle platform (中台)** — envelope ``{msgid, method, sn, timestamp, payload{…}}``:

  ===============================  ====  =============================================
  ``data/up/{pk}/{sn}``            up    telemetry (:class:`Telemetry`)
  ``sys/dev/{pk}/{sn}``            up    login / time / info … (:class:`SysMessage`)
  ``indicate/dev/{pk}/{sn}``       up    command result ``{msgid, res, errcode}`` (:class:`CommandAck`)
  ``indicate/server/{pk}/{sn}``    down  command, ``method: "operate"`` (:class:`Command`)
  ``sys/server/{pk}/{sn}``         down  system replies (:class:`Command`)
  ===============================  ====  =============================================

* **acrelHW (overseas)** — ``/{gw|server}/acrelHW/{product}/{cmd}/{sn}``, flat JSON with ``type``
  (:class:`HwMessage`).

``msgid`` is the correlation id: an ack carries the msgid of the command it answers. JSON numbers
are parsed straight to ``Decimal`` (never float); NaN/Infinity are rejected. Parsers raise only
:class:`ProtocolError` (bad_topic, bad_json, missing_field, bad_type, address_mismatch, unsupported).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeAlias

from .errors import EncodeError, ProtocolError

MAX_PAYLOAD = 256 * 1024
Json: TypeAlias = Any  # a value produced by json.loads(parse_float=Decimal)
MsgId: TypeAlias = int | str

#: Telemetry field names seen on DDSY1352-IOT (MeterPro TimeData.cs).
ACREL_TELEMETRY_FIELDS = (
    "EPI", "EPIJ", "EPIF", "EPIP", "EPIG", "Ua", "Ub", "Uc", "Ia", "Ib", "Ic", "P", "PF", "CT", "PT",
    "Balance", "BuyTimes", "SwitchSta", "PrepaidSta", "OweMoney", "AlarmA", "AlarmB", "ControlMode",
)  # fmt: skip


# --- messages ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Telemetry:
    product_key: str
    sn: str
    msgid: MsgId | None
    timestamp: int | str | None
    values: Mapping[str, Json]  # the envelope's payload object

    def number(self, name: str) -> Decimal:
        """A numeric field as Decimal (JSON number or numeric string). Raises ProtocolError."""
        if name not in self.values:
            raise ProtocolError("missing_field", f"telemetry has no {name}")
        return _as_decimal(self.values[name], name)


@dataclass(frozen=True, slots=True)
class SysMessage:
    product_key: str
    sn: str
    method: str
    msgid: MsgId | None
    timestamp: int | str | None
    payload: Mapping[str, Json]


@dataclass(frozen=True, slots=True)
class CommandAck:
    product_key: str
    sn: str
    msgid: MsgId | None  # None when the device left it out (seen on error replies)
    ok: bool
    errcode: str | None


@dataclass(frozen=True, slots=True)
class Command:
    """A downlink envelope (``indicate/server`` or ``sys/server``)."""

    channel: str  # "indicate" or "sys"
    product_key: str
    sn: str
    msgid: MsgId
    method: str
    timestamp: int | str | None
    payload: Mapping[str, Json] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HwMessage:
    """acrelHW message; ``body`` is the whole JSON object (``type`` included)."""

    sender: str  # "gw" (device → platform) or "server"
    product: str
    cmd: str
    sn: str
    body: Mapping[str, Json]

    @property
    def type(self) -> str:
        return str(self.body["type"])


Uplink: TypeAlias = Telemetry | SysMessage | CommandAck | HwMessage
Downlink: TypeAlias = Command | HwMessage


# --- helpers ----------------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ProtocolError("bad_json", f"{name} is not allowed")


def _loads(payload: bytes) -> dict[str, Json]:
    if not isinstance(payload, bytes | bytearray):
        raise ProtocolError("bad_json", "payload must be bytes")
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError("bad_json", f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    try:
        text = bytes(payload).decode("utf-8")
        data = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except ProtocolError:
        raise
    except (ValueError, RecursionError) as e:  # JSONDecodeError, UnicodeDecodeError, int digits limit
        raise ProtocolError("bad_json", f"invalid JSON: {type(e).__name__}") from None
    if not isinstance(data, dict):
        raise ProtocolError("bad_type", "payload must be a JSON object")
    return data


def _as_decimal(value: Json, name: str) -> Decimal:
    if isinstance(value, bool):
        raise ProtocolError("bad_type", f"{name} is a boolean, not a number")
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, str):
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            d = Decimal("NaN")
        if d.is_finite():
            return d
    raise ProtocolError("bad_type", f"{name}={value!r} is not a number")


def _msgid(data: Mapping[str, Json], required: bool) -> MsgId | None:
    if "msgid" not in data:
        if required:
            raise ProtocolError("missing_field", "msgid is required")
        return None
    v = data["msgid"]
    if isinstance(v, bool) or not isinstance(v, int | str) or v == "":
        raise ProtocolError("bad_type", "msgid must be a non-empty string or an integer")
    return v


def _timestamp(data: Mapping[str, Json]) -> int | str | None:
    v = data.get("timestamp")
    if v is None or (isinstance(v, int | str) and not isinstance(v, bool)):
        return v
    raise ProtocolError("bad_type", "timestamp must be an integer or a string")


def _str(data: Mapping[str, Json], key: str) -> str:
    if key not in data:
        raise ProtocolError("missing_field", f"{key} is required")
    v = data[key]
    if not isinstance(v, str) or not v:
        raise ProtocolError("bad_type", f"{key} must be a non-empty string")
    return v


def _object(data: Mapping[str, Json], key: str) -> dict[str, Json]:
    if key not in data:
        raise ProtocolError("missing_field", f"{key} is required")
    v = data[key]
    if not isinstance(v, dict):
        raise ProtocolError("bad_type", f"{key} must be an object")
    return v


def _check_sn(data: Mapping[str, Json], sn: str) -> None:
    if "sn" in data and data["sn"] != sn:
        raise ProtocolError("address_mismatch", f"payload sn {data['sn']!r} differs from topic sn {sn!r}")


def _plain(data: Mapping[str, Json]) -> None:
    for key in ("compress", "encrypt"):
        if data.get(key) not in (None, "", 0, "none", "NONE"):
            raise ProtocolError("unsupported", f"{key}={data[key]!r} payloads are not supported")


def _segments(topic: str) -> list[str]:
    if not isinstance(topic, str) or not topic or len(topic) > 512:
        raise ProtocolError("bad_topic", "empty or oversized topic")
    parts = topic.split("/")
    if any(p in ("+", "#") for p in parts):
        raise ProtocolError("bad_topic", "wildcards in a publish topic")
    return parts


def _segment(value: str, what: str) -> str:
    if not isinstance(value, str) or not value or any(c in value for c in "/+#\x00"):
        raise EncodeError(f"{what} {value!r} cannot be a topic segment")
    return value


def _dumps(obj: Json) -> str:
    """JSON text with Decimals as plain JSON numbers (no float round trip)."""
    if isinstance(obj, Decimal):
        if not obj.is_finite():
            raise EncodeError(f"{obj} is not finite")
        return format(obj, "f")
    if isinstance(obj, float):
        raise EncodeError("floats are not allowed; use Decimal")
    if isinstance(obj, Mapping):
        items = []
        for k, v in obj.items():
            if not isinstance(k, str):
                raise EncodeError(f"key {k!r} is not a string")
            items.append(json.dumps(k, ensure_ascii=False) + ":" + _dumps(v))
        return "{" + ",".join(items) + "}"
    if isinstance(obj, list | tuple):
        return "[" + ",".join(_dumps(v) for v in obj) + "]"
    if obj is None or isinstance(obj, bool | int | str):
        return json.dumps(obj, ensure_ascii=False)
    raise EncodeError(f"{type(obj).__name__} is not JSON-serialisable")


def _encode(obj: Json) -> bytes:
    return _dumps(obj).encode("utf-8")


# --- parsing ----------------------------------------------------------------------------------------


def parse_uplink(topic: str, payload: bytes) -> Uplink:
    """Device → platform message. Raises ProtocolError for anything malformed or unknown."""
    parts = _segments(topic)
    if len(parts) == 6 and parts[0] == "" and parts[2] == "acrelHW":
        return _parse_hw(parts, payload, "gw")
    if len(parts) != 4 or not all(parts[2:]):
        raise ProtocolError("bad_topic", f"unknown uplink topic {topic!r}")
    head, pk, sn = (parts[0], parts[1]), parts[2], parts[3]
    data = _loads(payload)
    _plain(data)
    _check_sn(data, sn)
    if head == ("data", "up"):
        return Telemetry(pk, sn, _msgid(data, False), _timestamp(data), _object(data, "payload"))
    if head == ("sys", "dev"):
        payload_obj = _object(data, "payload") if "payload" in data else {}
        return SysMessage(pk, sn, _str(data, "method"), _msgid(data, False), _timestamp(data), payload_obj)
    if head == ("indicate", "dev"):
        if "res" not in data:
            raise ProtocolError("missing_field", "res is required")
        res = data["res"]
        if isinstance(res, bool) or res not in (0, 1):
            raise ProtocolError("bad_type", "res must be 0 or 1")
        err = data.get("errcode")
        if err is not None and (isinstance(err, bool) or not isinstance(err, str | int)):
            raise ProtocolError("bad_type", "errcode must be a string or an integer")
        return CommandAck(pk, sn, _msgid(data, False), res == 1, None if err is None else str(err))
    raise ProtocolError("bad_topic", f"unknown uplink topic {topic!r}")


def parse_downlink(topic: str, payload: bytes) -> Downlink:
    """Platform → device message (used by simulators / fake meters). Raises ProtocolError."""
    parts = _segments(topic)
    if len(parts) == 6 and parts[0] == "" and parts[2] == "acrelHW":
        return _parse_hw(parts, payload, "server")
    if len(parts) != 4 or parts[1] != "server" or parts[0] not in ("indicate", "sys") or not all(parts[2:]):
        raise ProtocolError("bad_topic", f"unknown downlink topic {topic!r}")
    data = _loads(payload)
    _plain(data)
    _check_sn(data, parts[3])
    msgid = _msgid(data, True)
    assert msgid is not None
    body = _object(data, "payload") if "payload" in data else {}
    return Command(parts[0], parts[2], parts[3], msgid, _str(data, "method"), _timestamp(data), body)


def _parse_hw(parts: list[str], payload: bytes, sender: str) -> HwMessage:
    _, got_sender, _, product, cmd, sn = parts
    if got_sender != sender or not (product and cmd and sn):
        raise ProtocolError("bad_topic", f"acrelHW topic with sender {got_sender!r}, expected {sender!r}")
    data = _loads(payload)
    kind = _str(data, "type")
    if kind != cmd:
        raise ProtocolError("bad_type", f"type {kind!r} differs from topic command {cmd!r}")
    return HwMessage(sender, product, cmd, sn, data)


# --- building ---------------------------------------------------------------------------------------


def _msgid_arg(msgid: MsgId) -> MsgId:
    if isinstance(msgid, bool) or not isinstance(msgid, int | str) or msgid == "":
        raise EncodeError("msgid must be a non-empty string or an integer")
    return msgid


def build_command(
    product_key: str,
    sn: str,
    *,
    msgid: MsgId,
    timestamp: int | str,
    payload: Mapping[str, Json],
    method: str = "operate",
    channel: str = "indicate",
) -> tuple[str, bytes]:
    """(topic, payload) of a downlink envelope; ``msgid`` is the correlation id the ack echoes."""
    if channel not in ("indicate", "sys"):
        raise EncodeError("channel is indicate or sys")
    topic = f"{channel}/server/{_segment(product_key, 'product key')}/{_segment(sn, 'sn')}"
    env = {
        "method": method,
        "msgid": _msgid_arg(msgid),
        "sn": sn,
        "timestamp": timestamp,
        "payload": dict(payload),
    }
    return topic, _encode(env)


def build_force_switch(
    product_key: str,
    sn: str,
    *,
    msgid: MsgId,
    timestamp: int | str,
    do1: int,
    force_switch: int,
    meter_name: str = "DDSY1352-IOT",
) -> tuple[str, bytes]:
    """Relay command as MeterPro sends it to DDSY1352-IOT (``FORCESWITCH``).

    The meaning of ``do1`` / ``forceSwitch`` values (0|1) is not documented publicly; the vendor
    adapter owns that mapping.
    """
    for name, v in (("do1", do1), ("force_switch", force_switch)):
        if v not in (0, 1) or isinstance(v, bool):
            raise EncodeError(f"{name} must be 0 or 1")
    body = {
        "addr": sn,
        "do1": do1,
        "forceSwitch": force_switch,
        "meterName": meter_name,
        "method": "FORCESWITCH",
    }
    return build_command(product_key, sn, msgid=msgid, timestamp=timestamp, payload=body)


def build_ack(
    product_key: str, sn: str, *, msgid: MsgId | None, ok: bool, errcode: str | None = None
) -> tuple[str, bytes]:
    """Device-side command result (for simulators)."""
    body: dict[str, Json] = {} if msgid is None else {"msgid": _msgid_arg(msgid)}
    body["res"] = 1 if ok else 0
    if errcode is not None:
        body["errcode"] = errcode
    return f"indicate/dev/{_segment(product_key, 'product key')}/{_segment(sn, 'sn')}", _encode(body)


def build_telemetry(
    product_key: str,
    sn: str,
    *,
    msgid: MsgId,
    timestamp: int | str,
    values: Mapping[str, Json],
    method: str = "data",
) -> tuple[str, bytes]:
    """Device-side telemetry (for simulators). Decimal values become JSON numbers."""
    env = {
        "method": method,
        "msgid": _msgid_arg(msgid),
        "sn": sn,
        "timestamp": timestamp,
        "payload": dict(values),
    }
    return f"data/up/{_segment(product_key, 'product key')}/{_segment(sn, 'sn')}", _encode(env)


def build_hw(
    product: str, cmd: str, sn: str, body: Mapping[str, Json], *, sender: str = "server"
) -> tuple[str, bytes]:
    """acrelHW message; ``type`` is set to ``cmd`` (e.g. login reply ``{"type":"login","res":1}``)."""
    if sender not in ("gw", "server"):
        raise EncodeError("sender is gw or server")
    topic = f"/{sender}/acrelHW/{_segment(product, 'product')}/{_segment(cmd, 'cmd')}/{_segment(sn, 'sn')}"
    return topic, _encode({"type": cmd, **{k: v for k, v in body.items() if k != "type"}})
