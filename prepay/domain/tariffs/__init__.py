"""Tariff engine (pure): flat, tiered (阶梯) and time-of-use (尖峰平谷) pricing in both directions,
VAT, fixed charges, flat-price quotas (平价电量), adjustment energy (调剂电量), CT/PT multipliers (倍率)
and tariff versions. Decimal only; see docs/tariffs.md for the JSON schema and the rounding rules.
"""

from __future__ import annotations

from .errors import PurchaseError, TariffError
from .intervals import day_type, price_interval, price_intervals, tou_pieces
from .multiplier import TOKEN_RESOLUTION, Adjustment, multiplier, real_energy, register_units
from .preview import SampleBill, sample_days, sample_purchases, typical_energies
from .pricing import ENERGY_STEP, MONEY_STEP, FixedLine, Line, Quote, quote_energy, quote_money
from .schema import (
    SCHEMA_VERSION,
    Block,
    ChargeBasis,
    Cycle,
    DaySchedules,
    DayType,
    FixedCharge,
    Kind,
    Period,
    Quota,
    Schedule,
    Season,
    Tariff,
    Unit,
)
from .versions import TariffVersion, cycle_bounds, resolve_assignment, select_version

__all__ = [
    "ENERGY_STEP",
    "MONEY_STEP",
    "SCHEMA_VERSION",
    "TOKEN_RESOLUTION",
    "Adjustment",
    "Block",
    "ChargeBasis",
    "Cycle",
    "DaySchedules",
    "DayType",
    "FixedCharge",
    "FixedLine",
    "Kind",
    "Line",
    "Period",
    "PurchaseError",
    "Quota",
    "Quote",
    "SampleBill",
    "Schedule",
    "Season",
    "Tariff",
    "TariffError",
    "TariffVersion",
    "Unit",
    "cycle_bounds",
    "day_type",
    "multiplier",
    "price_interval",
    "price_intervals",
    "quote_energy",
    "quote_money",
    "real_energy",
    "register_units",
    "resolve_assignment",
    "sample_days",
    "sample_purchases",
    "select_version",
    "tou_pieces",
    "typical_energies",
]
