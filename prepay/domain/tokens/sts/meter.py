"""Meter-side decoder (simulator) implementing the decoding rules of the spec, §12.

A :class:`MeterDecoder` holds one meter's key register (decoder key, KRN, KT, TI, KEN, base
date), its TID memory, credit registers and management settings.  :meth:`MeterDecoder.enter`
takes a 20-digit token and returns a :class:`MeterResult` whose ``code`` is stable:

accepted codes
    ``accepted`` (credit / management / test token applied), ``key_change_incomplete`` (one
    section of a key change stored, waiting for the others), ``key_changed`` (new key active).
rejection codes
    ``format`` (not 20 digits / >= 2**66), ``crc`` (CRC mismatch: wrong key or typo),
    ``function`` (class/subclass not supported), ``range`` (field out of range),
    ``mfr_code`` (class 1 manufacturer code differs), ``key_type`` (DDTK credit, bad key type
    change), ``expired`` (``TID >> 16 > KEN``), ``used`` (TID already in memory), ``old`` (TID
    older than the oldest remembered while the memory is full, i.e. after TIDs were forgotten),
    ``overflow`` (register would exceed ``register_limit``).

Replay memory: the newest ``memory_size`` TIDs (default 50) are kept; on acceptance the TID is
stored, dropping the smallest when full.  A TID below the smallest remembered one is only
rejected as ``old`` once the memory is full — before that nothing has been forgotten, so an
older TID that is not in memory has provably never been used.  A key change with the rollover
flag clears the memory.  Key change tokens carry no TID and skip replay/expiry checks.

State round-trips through :meth:`MeterDecoder.to_dict` / :meth:`MeterDecoder.from_dict` (plain
JSON types).  The decoder key is part of that state: persist it as a secret.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import amount as amt
from .api import cipher_for
from .errors import CrcError, OutOfRangeError, StsError, TokenFormatError
from .keys import DecoderKey, check_base_date
from .tid import key_expired
from .token import (
    ClearCreditToken,
    ClearTamperToken,
    CurrencyCreditToken,
    MeterTestToken,
    RawToken,
    Set1stSectionDecoderKeyToken,
    Set2ndSectionDecoderKeyToken,
    Set3rdSectionDecoderKeyToken,
    SetMaxPhasePowerUnbalanceLimitToken,
    SetMaxPowerLimitToken,
    SetTariffRateToken,
    SetWaterMeterFactorToken,
    StandardCreditToken,
    Token,
    parse_block,
    parse_token_number,
    untranspose,
)

DEFAULT_MEMORY = 50
DEFAULT_REGISTER_LIMIT = 10**12  # base units; a simulator choice, not from the standard


@dataclass(frozen=True, slots=True)
class MeterResult:
    """Outcome of entering one token. ``code`` is stable (see module docstring)."""

    accepted: bool
    code: str
    message: str
    token: Token | None = None
    register: int | None = None
    credit: Decimal | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (no key material)."""
        out: dict[str, Any] = {"accepted": self.accepted, "code": self.code, "message": self.message}
        if self.register is not None:
            out["register"] = self.register
        if self.credit is not None:
            out["credit"] = amt.format_amount(self.credit)
        return out


def _reject(code: str, message: str, token: Token | None = None) -> MeterResult:
    return MeterResult(False, code, message, token)


@dataclass(slots=True)
class MeterDecoder:
    """State and decoding logic of one simulated STS meter (EA07 by default).

    Credit registers hold base units: 0.1 unit for subclasses 0..3, 10^-5 currency unit for
    4..7 (signed).  ``manufacturer_code`` is checked against class 1 tokens when not None.
    """

    decoder_key: int = field(repr=False)
    base_date: int = 1993
    ken: int = 255
    key_revision: int = 1
    key_type: int = 2
    tariff_index: int = 1
    supply_group_code: int | None = None
    manufacturer_code: int | None = None
    algorithm: str = "07"
    memory_size: int = DEFAULT_MEMORY
    register_limit: int = DEFAULT_REGISTER_LIMIT
    tids: list[int] = field(default_factory=list)
    registers: dict[int, int] = field(default_factory=dict)
    max_power: int | None = None
    max_phase_unbalance: int | None = None
    tariff_rate: int | None = None
    water_factor: int | None = None
    tamper: bool = False
    pending: dict[int, dict[str, Any]] = field(default_factory=dict)
    last_test: dict[str, int] | None = None

    def __post_init__(self) -> None:
        DecoderKey(self.decoder_key)
        check_base_date(self.base_date)
        if self.memory_size < 1:
            raise OutOfRangeError("TID memory size must be at least 1")
        self.tids.sort()

    def __repr__(self) -> str:
        return (
            f"MeterDecoder(decoder_key=<redacted>, base_date={self.base_date}, ken={self.ken}, "
            f"key_revision={self.key_revision}, key_type={self.key_type}, tids={len(self.tids)})"
        )

    # ------------------------------------------------------------------ decoding

    def enter(self, token: str) -> MeterResult:
        """Decode and, when valid, apply one token. Never raises for bad tokens."""
        try:
            number = parse_token_number(token)
        except TokenFormatError as exc:
            return _reject("format", exc.message)
        cls, block = untranspose(number)
        if cls != 1:
            block = cipher_for(self.decoder_key, self.algorithm).decrypt(block)
        try:
            fields = parse_block(cls, block)
        except CrcError as exc:
            return _reject("crc", exc.message)
        except StsError as exc:
            return _reject("range", exc.message)
        if isinstance(fields, RawToken):
            return _reject("function", f"class {cls} subclass {fields.subclass} is not supported", fields)
        if isinstance(fields, MeterTestToken):
            return self._test(fields)
        if isinstance(
            fields, Set1stSectionDecoderKeyToken | Set2ndSectionDecoderKeyToken | Set3rdSectionDecoderKeyToken
        ):
            return self._key_change(fields)
        return self._with_tid(fields)

    def _test(self, t: MeterTestToken) -> MeterResult:
        if self.manufacturer_code is not None and t.manufacturer_code not in (0, self.manufacturer_code):
            return _reject("mfr_code", "manufacturer code does not match this meter", t)
        self.last_test = {"subclass": t.subclass, "control": t.control}
        return MeterResult(True, "accepted", "test/display initiated", t)

    def _with_tid(self, t: Token) -> MeterResult:
        tid: int = t.tid  # type: ignore[union-attr]
        if key_expired(tid, self.ken):
            return _reject("expired", f"key expired: TID >> 16 is above KEN {self.ken}", t)
        pos = bisect.bisect_left(self.tids, tid)
        if pos < len(self.tids) and self.tids[pos] == tid:
            return _reject("used", "token already used", t)
        if pos == 0 and len(self.tids) >= self.memory_size:
            return _reject("old", "token is older than the oldest remembered token", t)
        result = self._apply(t)
        if result.accepted:
            self.tids.insert(pos, tid)
            if len(self.tids) > self.memory_size:
                del self.tids[0]
        return result

    def _apply(self, t: Token) -> MeterResult:
        if isinstance(t, StandardCreditToken | CurrencyCreditToken):
            if self.key_type == 1:
                return _reject("key_type", "a default key (DDTK) meter accepts no credit", t)
            if isinstance(t, StandardCreditToken):
                units = int(t.amount * 10)
            else:
                units = int(t.amount.scaleb(5, amt.EXACT))
            total = self.registers.get(t.subclass, 0) + units
            if abs(total) > self.register_limit:
                return _reject("overflow", "credit register would overflow", t)
            self.registers[t.subclass] = total
            return MeterResult(True, "accepted", "credit added", t, t.subclass, self.credit(t.subclass))
        if isinstance(t, SetMaxPhasePowerUnbalanceLimitToken):
            self.max_phase_unbalance = t.value
        elif isinstance(t, SetMaxPowerLimitToken):
            self.max_power = t.value
        elif isinstance(t, ClearCreditToken):
            if t.value == 0xFFFF:
                self.registers.clear()
            else:
                self.registers[t.value] = 0
        elif isinstance(t, SetTariffRateToken):
            self.tariff_rate = t.value
        elif isinstance(t, ClearTamperToken):
            self.tamper = False
        elif isinstance(t, SetWaterMeterFactorToken):
            self.water_factor = t.value
        else:  # pragma: no cover - parse_block returns no other kinds with a TID
            return _reject("function", "unsupported token", t)
        return MeterResult(True, "accepted", "management token applied", t)

    def _key_change(self, t: Token) -> MeterResult:
        self.pending[t.subclass] = _section_dict(t)
        first = self.pending.get(3)
        second = self.pending.get(4)
        need_third = bool(first and first["third_token"])
        if first is None or second is None or (need_third and 8 not in self.pending):
            return MeterResult(True, "key_change_incomplete", "key change section stored", t)
        new_kt = first["key_type"]
        if new_kt == 0 and self.key_type != 0:
            self.pending.clear()
            return _reject(
                "key_type", "a change to an initialisation key (KT 0) is only allowed from KT 0", t
            )
        self.decoder_key = first["key_high"] << 32 | second["key_low"]
        self.key_revision = first["key_revision"]
        self.key_type = new_kt
        self.tariff_index = second["tariff_index"]
        self.ken = first["ken_high"] << 4 | second["ken_low"]
        if need_third:
            self.supply_group_code = self.pending[8]["supply_group_code"]
        if first["rollover"]:
            self.tids.clear()
        self.pending.clear()
        return MeterResult(True, "key_changed", "new decoder key active", t)

    # ------------------------------------------------------------------ queries / persistence

    def credit(self, subclass: int) -> Decimal:
        """Register balance in whole units (kWh, m³, ... or currency)."""
        units = self.registers.get(subclass, 0)
        return Decimal(units).scaleb(-5 if subclass >= 4 else -1, amt.EXACT)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON state, restorable with :meth:`from_dict` (contains the decoder key)."""
        return {
            "decoder_key": f"{self.decoder_key:016X}",
            "base_date": self.base_date,
            "ken": self.ken,
            "key_revision": self.key_revision,
            "key_type": self.key_type,
            "tariff_index": self.tariff_index,
            "supply_group_code": self.supply_group_code,
            "manufacturer_code": self.manufacturer_code,
            "algorithm": self.algorithm,
            "memory_size": self.memory_size,
            "register_limit": self.register_limit,
            "tids": list(self.tids),
            "registers": {str(k): v for k, v in sorted(self.registers.items())},
            "max_power": self.max_power,
            "max_phase_unbalance": self.max_phase_unbalance,
            "tariff_rate": self.tariff_rate,
            "water_factor": self.water_factor,
            "tamper": self.tamper,
            "pending": {str(k): dict(v) for k, v in self.pending.items()},
            "last_test": self.last_test,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MeterDecoder:
        """Inverse of :meth:`to_dict`."""
        values = dict(data)
        values["decoder_key"] = DecoderKey.from_hex(values["decoder_key"]).value
        values["registers"] = {int(k): int(v) for k, v in values.get("registers", {}).items()}
        values["pending"] = {int(k): dict(v) for k, v in values.get("pending", {}).items()}
        values["tids"] = [int(t) for t in values.get("tids", [])]
        return cls(**values)


def _section_dict(t: Token) -> dict[str, Any]:
    if isinstance(t, Set1stSectionDecoderKeyToken):
        return {
            "ken_high": t.ken_high,
            "key_revision": t.key_revision,
            "rollover": t.rollover,
            "third_token": t.third_token,
            "key_type": t.key_type,
            "key_high": t.key_high,
        }
    if isinstance(t, Set2ndSectionDecoderKeyToken):
        return {"ken_low": t.ken_low, "tariff_index": t.tariff_index, "key_low": t.key_low}
    if isinstance(t, Set3rdSectionDecoderKeyToken):
        return {"supply_group_code": t.supply_group_code}
    raise OutOfRangeError("not a key change section")  # pragma: no cover
