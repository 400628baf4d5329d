"""Data-identifier (DI) registry for DL/T 645-2007 (4-byte DIs) and -1997 (2-byte DIs).

A DI is an ``int`` written the way the standard prints it (``0x00900200``); on the wire it goes low
byte first (DI0 first), +0x33. The table is the one in specs/meter-protocols.md §1.4 and §1.8;
docs/protocols.md renders it. Add entries here (code, not data: formats are typed objects).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from prepay.domain.protocols.errors import EncodeError, ProtocolError

from .formats import DATETIME, Binary, Block, DateWithWeek, Digits, Format, Number, TimeOfDay, Value


class Version(IntEnum):
    V1997 = 1997
    V2007 = 2007


@dataclass(frozen=True, slots=True)
class DataItem:
    di: int
    name: str
    label: str
    format: Format
    unit: str = ""
    note: str = ""
    equivalent: int | None = None  # the 2007 DI of a 1997 item

    @property
    def length(self) -> int:
        return self.format.length


ENERGY = Number(4, 2)  # XXXXXX.XX
MONEY = Number(4, 2)  # XXXXXX.XX (yuan)
PRICE = Number(4, 4)  # NNNN.NNNN
VOLTAGE = Number(2, 1)  # XXX.X
CURRENT = Number(3, 3, signed=True)  # XXX.XXX
POWER = Number(3, 4, signed=True)  # XX.XXXX kW

_2007: tuple[DataItem, ...] = (
    DataItem(0x00000000, "combined_active_total", "combined active total energy", ENERGY, "kWh"),
    DataItem(0x00010000, "forward_active_total", "forward active total energy", ENERGY, "kWh"),
    DataItem(0x00020000, "reverse_active_total", "reverse active total energy", ENERGY, "kWh"),
    DataItem(
        0x0001FF00,
        "forward_active_block",
        "forward active energy: total, T1 sharp, T2 peak, T3 flat, T4 valley",
        Block(ENERGY, 5),
        "kWh",
    ),
    DataItem(0x02010100, "voltage_a", "phase A voltage", VOLTAGE, "V"),
    DataItem(0x0201FF00, "voltage_block", "voltage A, B, C (FF FF = phase absent)", Block(VOLTAGE, 3), "V"),
    DataItem(0x02020100, "current_a", "phase A current", CURRENT, "A"),
    DataItem(0x02030000, "active_power_total", "total active power", POWER, "kW"),
    DataItem(0x02030100, "active_power_a", "phase A active power", POWER, "kW"),
    DataItem(0x0203FF00, "active_power_block", "active power total, A, B, C", Block(POWER, 4), "kW"),
    DataItem(0x02800002, "frequency", "grid frequency", Number(2, 2), "Hz"),
    DataItem(0x04000101, "date", "date and weekday (0 = Sunday)", DateWithWeek()),
    DataItem(0x04000102, "time", "time of day", TimeOfDay()),
    DataItem(0x04000306, "ct_ratio", "CT ratio", Number(3)),
    DataItem(0x04000307, "pt_ratio", "PT ratio", Number(3)),
    DataItem(0x04000401, "comm_address", "communication address", Digits(6)),
    DataItem(0x0400040E, "customer_number", "customer number (客户编号)", Digits(6)),
    DataItem(0x04000503, "status_word_3", "status word 3 (relay, prepaid type, keep-power)", Binary(2)),
    DataItem(0x00900100, "remaining_energy", "remaining energy (energy-type prepaid)", ENERGY, "kWh"),
    DataItem(0x00900101, "overdraft_energy", "overdraft energy", ENERGY, "kWh"),
    DataItem(0x00900200, "remaining_money", "remaining money (剩余金额)", MONEY, "yuan"),
    DataItem(0x00900201, "overdraft_money", "overdraft money (透支金额)", MONEY, "yuan"),
    DataItem(0x04001001, "alarm_amount_1", "alarm amount 1 limit", MONEY, "yuan"),
    DataItem(0x04001002, "alarm_amount_2", "alarm amount 2 limit", MONEY, "yuan"),
    DataItem(0x04001003, "overdraft_limit", "overdraft amount limit", MONEY, "yuan"),
    DataItem(0x04001004, "hoarding_limit", "hoarding (囤积) amount limit", MONEY, "yuan"),
    DataItem(0x04001005, "close_allowed_limit", "close-allowed amount limit", MONEY, "yuan"),
    DataItem(0x04050101, "price_t1", "rate price T1", PRICE, "yuan/kWh"),
    DataItem(0x04050102, "price_t2", "rate price T2", PRICE, "yuan/kWh"),
    DataItem(0x04050103, "price_t3", "rate price T3", PRICE, "yuan/kWh"),
    DataItem(0x04050104, "price_t4", "rate price T4", PRICE, "yuan/kWh"),
    DataItem(0x040501FF, "price_block", "rate prices T1..T4", Block(PRICE, 4), "yuan/kWh"),
    DataItem(
        0x03330201,
        "purchase_count",
        "purchase count (购电次数)",
        Number(2),
        note="from pmc340.go; verify against the standard's Annex A before use",
    ),
    DataItem(0x1D000101, "last_trip_time", "last trip time", DATETIME),
    DataItem(0x1E000101, "last_close_time", "last close time", DATETIME),
    DataItem(0x03300D00, "open_cover_count", "open-cover count", Number(3)),
)

_1997: tuple[DataItem, ...] = (
    DataItem(
        0x9010, "forward_active_total", "forward active total energy", ENERGY, "kWh", equivalent=0x00010000
    ),
    DataItem(
        0x901F,
        "forward_active_block",
        "forward active energy: total, T1..T4",
        Block(ENERGY, 5),
        "kWh",
        equivalent=0x0001FF00,
    ),
    DataItem(0xB611, "voltage_a", "phase A voltage", Number(2), "V", equivalent=0x02010100),
    DataItem(0xB621, "current_a", "phase A current", Number(2, 2), "A", equivalent=0x02020100),
    DataItem(0xB630, "active_power_total", "total active power", Number(3, 4), "kW", equivalent=0x02030000),
    DataItem(0xC010, "date", "date and weekday", DateWithWeek(), equivalent=0x04000101),
    DataItem(0xC011, "time", "time of day", TimeOfDay(), equivalent=0x04000102),
    DataItem(0xD113, "status_word_3", "status word 3", Binary(2), equivalent=0x04000503),
)

REGISTRY: dict[Version, dict[int, DataItem]] = {
    Version.V2007: {item.di: item for item in _2007},
    Version.V1997: {item.di: item for item in _1997},
}
_BY_NAME: dict[Version, dict[str, DataItem]] = {
    v: {item.name: item for item in items.values()} for v, items in REGISTRY.items()
}
DI_LENGTH = {Version.V2007: 4, Version.V1997: 2}


def lookup(di: int | str, version: Version = Version.V2007) -> DataItem:
    """The registry entry for a DI (int) or an item name (``"remaining_money"``).

    Raises ``ProtocolError("unknown_di")``.
    """
    item = _BY_NAME[version].get(di) if isinstance(di, str) else REGISTRY[version].get(di)
    if item is None:
        shown = di if isinstance(di, str) else f"{di:0{2 * DI_LENGTH[version]}X}"
        raise ProtocolError("unknown_di", f"DI {shown} is not in the DL/T 645-{int(version)} registry", di=di)
    return item


def decode_value(di: int | str, data: bytes, version: Version = Version.V2007) -> Value:
    """Plain item bytes (after −0x33, without the DI) → value. Raises ProtocolError."""
    return lookup(di, version).format.decode(data)


def encode_value(di: int | str, value: Value, version: Version = Version.V2007) -> bytes:
    """Value → plain item bytes (before +0x33, without the DI). Raises ProtocolError / EncodeError."""
    return lookup(di, version).format.encode(value)


def di_to_wire(di: int, version: Version = Version.V2007) -> bytes:
    """DI → plain bytes, DI0 first (``0x00010000`` → ``00 00 01 00``)."""
    n = DI_LENGTH[version]
    if not 0 <= di < 1 << (8 * n):
        raise EncodeError(f"DI {di:X} does not fit {n} bytes")
    return di.to_bytes(n, "little")


@dataclass(frozen=True, slots=True)
class StatusWord3:
    """Status word 3 (DI 04000503 / 1997 D113), bits from Bkgrd.h ``sMtSta3Bit_TypeDef``."""

    raw: int

    @property
    def relay_open(self) -> bool:
        """Bit 4: the relay is open (tripped)."""
        return bool(self.raw >> 4 & 1)

    @property
    def relay_command_open(self) -> bool:
        """Bit 6: the last relay *command* was trip."""
        return bool(self.raw >> 6 & 1)

    @property
    def pre_trip_alarm(self) -> bool:
        """Bit 7: pre-trip alarm active."""
        return bool(self.raw >> 7 & 1)

    @property
    def meter_type(self) -> str:
        """Bits 8-9: ``non_prepaid`` / ``energy_prepaid`` / ``money_prepaid`` / ``reserved``."""
        return ("non_prepaid", "energy_prepaid", "money_prepaid", "reserved")[self.raw >> 8 & 3]

    @property
    def keep_power(self) -> bool:
        """Bit 12: keep-power (保电) active."""
        return bool(self.raw >> 12 & 1)

    @property
    def local_account_opened(self) -> bool:
        """Bit 14."""
        return bool(self.raw >> 14 & 1)

    @property
    def remote_account_opened(self) -> bool:
        """Bit 15."""
        return bool(self.raw >> 15 & 1)
