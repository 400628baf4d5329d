"""Modbus register maps per meter model (data files) and value scaling, pure — no I/O.

A map is a JSON file in ``prepay/domain/protocols/maps/`` (see docs/protocols.md for the schema).
:func:`decode_registers` turns the 16-bit holding-register values read from the meter into
``Decimal`` engineering values (raw × scale × CT/PT multiplier); :func:`encode_write` turns a value
for a writable point into the (address, registers) pair of a function-16 write. The transport
(pymodbus) lives elsewhere.

float32 registers are converted through ``format(x, ".7g")`` — 7 significant digits, the precision
of an IEEE single — so no binary float noise reaches a ``Decimal``.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any, Literal

from .errors import EncodeError, MapError, ProtocolError

DataType = Literal["int16", "uint16", "int32", "uint32", "float32"]
Multiplier = Literal["none", "ct", "pt", "ct_pt"]
_WIDTH: dict[str, int] = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2}
MAX_READ = 125  # registers per function-3 request


@dataclass(frozen=True, slots=True)
class Point:
    """One value in a register map."""

    name: str
    address: int
    type: DataType
    scale: Decimal = Decimal(1)
    unit: str = ""
    multiplier: Multiplier = "none"
    word_order: Literal["big", "little"] = "big"  # big: high word first (ABCD); little: CDAB
    writable: bool = False
    minimum: Decimal | None = None  # writable range, in engineering units
    maximum: Decimal | None = None
    values: Mapping[str, int] = field(default_factory=dict)  # named raw values (e.g. valve open/close)
    note: str = ""

    @property
    def count(self) -> int:
        return _WIDTH[self.type]


@dataclass(frozen=True, slots=True)
class RegisterMap:
    model: str
    description: str
    points: tuple[Point, ...]
    source: str = ""
    verified: bool = False
    phases: int = 1

    def point(self, name: str) -> Point:
        for p in self.points:
            if p.name == name:
                return p
        raise MapError(f"{self.model} has no point {name!r}")

    def read_blocks(self, max_count: int = MAX_READ) -> list[tuple[int, int]]:
        """Contiguous (start, count) requests covering every point, gaps of ≤ 8 registers bridged."""
        spans = sorted((p.address, p.address + p.count) for p in self.points)
        blocks: list[list[int]] = []
        for start, end in spans:
            if blocks and start - blocks[-1][1] <= 8 and end - blocks[-1][0] <= max_count:
                blocks[-1][1] = max(blocks[-1][1], end)
            else:
                blocks.append([start, end])
        return [(s, e - s) for s, e in blocks]


# --- loading ----------------------------------------------------------------------------------------


def _dec(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MapError(f"{where}: numbers are written as strings or integers, got {value!r}")
    try:
        d = Decimal(value)
    except InvalidOperation:
        raise MapError(f"{where}: {value!r} is not a number") from None
    if not d.is_finite():
        raise MapError(f"{where}: {value!r} is not finite")
    return d


_POINT_KEYS = {
    "name", "address", "type", "scale", "unit", "multiplier", "word_order",
    "writable", "min", "max", "values", "note",
}  # fmt: skip


def _point(raw: Any, where: str, default_order: str) -> Point:
    if not isinstance(raw, dict):
        raise MapError(f"{where}: a point is an object")
    unknown = set(raw) - _POINT_KEYS
    if unknown:
        raise MapError(f"{where}: unknown keys {sorted(unknown)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.isidentifier():
        raise MapError(f"{where}: name must be an identifier")
    address = raw.get("address")
    if isinstance(address, str):
        try:
            address = int(address, 16) if address.lower().startswith("0x") else int(address)
        except ValueError:
            raise MapError(f"{where}: address {address!r} is not a number") from None
    if isinstance(address, bool) or not isinstance(address, int) or not 0 <= address <= 0xFFFF:
        raise MapError(f"{where}: address must be 0..65535")
    dtype = raw.get("type")
    if dtype not in _WIDTH:
        raise MapError(f"{where}: type must be one of {sorted(_WIDTH)}")
    if address + _WIDTH[dtype] > 0x10000:
        raise MapError(f"{where}: point runs past register 65535")
    multiplier = raw.get("multiplier", "none")
    if multiplier not in ("none", "ct", "pt", "ct_pt"):
        raise MapError(f"{where}: multiplier must be none, ct, pt or ct_pt")
    order = raw.get("word_order", default_order)
    if order not in ("big", "little"):
        raise MapError(f"{where}: word_order must be big or little")
    values = raw.get("values", {})
    if not isinstance(values, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in values.items()
    ):
        raise MapError(f"{where}: values maps names to integers")
    scale = _dec(raw.get("scale", 1), f"{where}.scale")
    if scale == 0:
        raise MapError(f"{where}: scale must not be 0")
    writable = raw.get("writable", False)
    if not isinstance(writable, bool):
        raise MapError(f"{where}: writable is true or false")
    return Point(
        name=name,
        address=address,
        type=dtype,
        scale=scale,
        unit=str(raw.get("unit", "")),
        multiplier=multiplier,
        word_order=order,
        writable=writable,
        minimum=_dec(raw["min"], f"{where}.min") if "min" in raw else None,
        maximum=_dec(raw["max"], f"{where}.max") if "max" in raw else None,
        values=dict(values),
        note=str(raw.get("note", "")),
    )


def map_from_dict(data: Any) -> RegisterMap:
    """Validate a parsed map file. Raises :class:`MapError` (code ``bad_map``)."""
    if not isinstance(data, dict):
        raise MapError("a register map is a JSON object")
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise MapError("model is required")
    order = data.get("word_order", "big")
    points_raw = data.get("points")
    if not isinstance(points_raw, list) or not points_raw:
        raise MapError(f"{model}: points must be a non-empty list")
    points = tuple(_point(p, f"{model}.points[{i}]", order) for i, p in enumerate(points_raw))
    names = [p.name for p in points]
    if len(set(names)) != len(names):
        raise MapError(f"{model}: duplicate point names")
    used: dict[int, str] = {}
    for p in points:
        for r in range(p.address, p.address + p.count):
            if r in used:
                raise MapError(f"{model}: {p.name} overlaps {used[r]} at register {r:04X}")
            used[r] = p.name
    phases = data.get("phases", 1)
    if phases not in (1, 3):
        raise MapError(f"{model}: phases is 1 or 3")
    verified = data.get("verified", False)
    if not isinstance(verified, bool):
        raise MapError(f"{model}: verified is true or false")
    return RegisterMap(
        model, str(data.get("description", "")), points, str(data.get("source", "")), verified, phases
    )


def available_models() -> list[str]:
    """Model names of the bundled map files."""
    folder = resources.files("prepay.domain.protocols") / "maps"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def load_map(model: str) -> RegisterMap:
    """Load ``maps/<model>.json``. Raises MapError if missing or invalid."""
    if not model.replace("-", "_").replace(".", "_").isidentifier():
        raise MapError(f"bad model name {model!r}")
    path = resources.files("prepay.domain.protocols") / "maps" / f"{model}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except FileNotFoundError:
        raise MapError(f"no register map for model {model!r}") from None
    except ValueError as e:
        raise MapError(f"{model}: invalid JSON ({e})") from None
    m = map_from_dict(data)
    if m.model != model:
        raise MapError(f"file {model}.json declares model {m.model!r}")
    return m


# --- decoding ---------------------------------------------------------------------------------------


def _ratio(value: Decimal | int, what: str) -> Decimal:
    d = Decimal(value)
    if not d.is_finite() or d <= 0:
        raise EncodeError(f"{what} ratio must be positive, got {value}")
    return d


def _factor(point: Point, ct: Decimal, pt: Decimal) -> Decimal:
    return {"none": Decimal(1), "ct": ct, "pt": pt, "ct_pt": ct * pt}[point.multiplier]


def _raw(point: Point, words: Sequence[int]) -> Decimal:
    if point.count == 2 and point.word_order == "little":
        words = [words[1], words[0]]
    data = b"".join(w.to_bytes(2, "big") for w in words)
    if point.type == "float32":
        (f,) = struct.unpack(">f", data)
        if not math.isfinite(f):
            raise ProtocolError("bad_value", f"{point.name}: float32 {data.hex()} is not finite")
        return Decimal(format(f, ".7g"))
    return Decimal(int.from_bytes(data, "big", signed=point.type.startswith("int")))


def decode_point(
    point: Point, words: Sequence[int], *, ct: Decimal | int = 1, pt: Decimal | int = 1
) -> Decimal:
    """One point's registers → engineering value (raw × scale × multiplier)."""
    if len(words) != point.count:
        raise ProtocolError("bad_length", f"{point.name} needs {point.count} registers, got {len(words)}")
    for w in words:
        if isinstance(w, bool) or not isinstance(w, int) or not 0 <= w <= 0xFFFF:
            raise ProtocolError("bad_value", f"register value {w!r} is not 0..65535")
    return _raw(point, words) * point.scale * _factor(point, _ratio(ct, "CT"), _ratio(pt, "PT"))


def decode_registers(
    regmap: RegisterMap,
    registers: Sequence[int],
    *,
    start: int = 0,
    ct: Decimal | int = 1,
    pt: Decimal | int = 1,
) -> dict[str, Decimal]:
    """Decode every point fully inside ``registers`` (a block read from address ``start``).

    Points outside the block are left out of the result. CT/PT are the meter's ratios (1–9999 on
    Acrel meters), applied to points whose map says ``ct``, ``pt`` or ``ct_pt``.
    Raises ProtocolError for register values outside 0..65535 or a non-finite float32.
    """
    ctd, ptd = _ratio(ct, "CT"), _ratio(pt, "PT")
    out: dict[str, Decimal] = {}
    for p in regmap.points:
        lo = p.address - start
        if lo < 0 or lo + p.count > len(registers):
            continue
        out[p.name] = decode_point(p, registers[lo : lo + p.count], ct=ctd, pt=ptd)
    return out


# --- writing ----------------------------------------------------------------------------------------


def encode_write(
    regmap: RegisterMap,
    name: str,
    value: Decimal | int | str,
    *,
    ct: Decimal | int = 1,
    pt: Decimal | int = 1,
) -> tuple[int, list[int]]:
    """(address, register values) for writing ``value`` to a writable point.

    ``value`` is in engineering units (divided by scale and CT/PT) or, as a ``str``, one of the
    point's named ``values`` (e.g. ``"open"``). Raises EncodeError / MapError.
    """
    p = regmap.point(name)
    if not p.writable:
        raise MapError(f"{regmap.model}.{name} is read-only")
    if isinstance(value, str):
        if value not in p.values:
            raise EncodeError(f"{name} has no named value {value!r}; known: {sorted(p.values)}")
        raw = Decimal(p.values[value])
    else:
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise EncodeError(f"{value!r} is not a number")
        v = Decimal(value)
        if not v.is_finite():
            raise EncodeError(f"{value} is not finite")
        if (p.minimum is not None and v < p.minimum) or (p.maximum is not None and v > p.maximum):
            raise EncodeError(f"{name}={value} outside {p.minimum}..{p.maximum}")
        raw = v / p.scale / _factor(p, _ratio(ct, "CT"), _ratio(pt, "PT"))
    if p.type == "float32":
        try:
            data = struct.pack(">f", float(raw))
        except OverflowError:
            raise EncodeError(f"{name}={value} does not fit float32") from None
    else:
        if raw != raw.to_integral_value():
            raise EncodeError(f"{name}={value} is not a whole number of {p.scale} {p.unit}")
        bits = 16 * p.count
        signed = p.type.startswith("int")
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        if not lo <= int(raw) <= hi:
            raise EncodeError(f"{name}={value} does not fit {p.type}")
        data = int(raw).to_bytes(2 * p.count, "big", signed=signed)
    words = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    if p.count == 2 and p.word_order == "little":
        words.reverse()
    return p.address, words
