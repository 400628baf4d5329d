"""CT/PT multipliers (倍率) and adjustment energy (调剂电量).

A meter behind current (CT) and voltage (PT) transformers registers real energy ÷ (CT × PT). Energy
sold is converted to register units by dividing by the multiplier and rounding UP to the token
resolution (0.1 unit for STS): the customer's favour, never less than paid for. Readings go the other
way exactly: real energy = register units × CT × PT. Receipts show both figures.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal

from prepay.domain.money import ENERGY_PLACES, QuantityError, to_decimal

from .errors import TariffError

TOKEN_RESOLUTION = Decimal("0.1")


def _ratio(value: object, name: str) -> int:
    if isinstance(value, bool):
        raise TariffError(name, f"{value!r} is not a ratio")
    try:
        d = to_decimal(value)
    except QuantityError as exc:
        raise TariffError(name, str(exc)) from exc
    if d != d.to_integral_value() or d < 1:
        raise TariffError(name, f"a ratio is a whole number of at least 1 (e.g. 50 for 250/5 A), not {d}")
    return int(d)


def multiplier(ct_ratio: object = 1, pt_ratio: object = 1) -> int:
    """CT ratio × PT ratio, each a whole number ≥ 1 (e.g. CT 250/5 → 50; PT 10 kV/100 V → 100)."""
    return _ratio(ct_ratio, "ct_ratio") * _ratio(pt_ratio, "pt_ratio")


def _resolution(value: object) -> Decimal:
    try:
        d = to_decimal(value)
    except QuantityError as exc:
        raise TariffError("resolution", str(exc)) from exc
    if d <= 0:
        raise TariffError("resolution", f"must be positive, not {d}")
    return d


def _ceil_to(value: Decimal, resolution: Decimal) -> Decimal:
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        steps = (value / resolution).to_integral_value(decimal.ROUND_CEILING)
        return (steps * resolution).quantize(resolution)


def register_units(
    energy: object, ct_ratio: object = 1, pt_ratio: object = 1, *, resolution: object = TOKEN_RESOLUTION
) -> Decimal:
    """Register units to load for ``energy`` purchased: energy ÷ (CT × PT), rounded UP to ``resolution``.

    Rounding up favours the customer: ``register_units(e) × multiplier ≥ e`` always, and the excess is
    below one resolution step × multiplier. Example: 101 kWh at CT 50 → 2.02 → 2.1 units (105 kWh).
    """
    try:
        e = to_decimal(energy)
    except QuantityError as exc:
        raise TariffError("energy", str(exc)) from exc
    if e < 0:
        raise TariffError("energy", f"must not be negative, not {e}")
    return _ceil_to(e / multiplier(ct_ratio, pt_ratio), _resolution(resolution))


def real_energy(units: object, ct_ratio: object = 1, pt_ratio: object = 1) -> Decimal:
    """Real energy for register ``units`` (a reading or a loaded credit): units × CT × PT, exact."""
    try:
        u = to_decimal(units)
    except QuantityError as exc:
        raise TariffError("units", str(exc)) from exc
    return u * multiplier(ct_ratio, pt_ratio)


@dataclass(frozen=True)
class Adjustment:
    """Adjustment energy (调剂电量): signed energy a clerk adds (+) or removes (−) without a sale.

    It carries no money. ``counts_towards_tiers`` says whether it moves the account's tier position
    (false by default: compensation is not consumption bought; a correction of a wrong sale may be).
    Approval and audit belong to the action that records it.
    """

    energy: Decimal
    reason: str
    counts_towards_tiers: bool = False

    def __post_init__(self) -> None:
        try:
            e = to_decimal(self.energy)
        except QuantityError as exc:
            raise TariffError("energy", str(exc)) from exc
        if e == 0:
            raise TariffError("energy", "an adjustment must add or remove some energy")
        if e.as_tuple().exponent < -ENERGY_PLACES:  # type: ignore[operator]
            raise TariffError("energy", f"{e} has more than {ENERGY_PLACES} decimal places")
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise TariffError("reason", "a reason is required")
        object.__setattr__(self, "energy", e)
        object.__setattr__(self, "reason", self.reason.strip())

    def cycle_position_after(self, used_in_cycle: object) -> Decimal:
        """The tier position after this adjustment (never below zero)."""
        used = to_decimal(used_in_cycle)
        return max(used + self.energy, Decimal(0)) if self.counts_towards_tiers else used

    def register_units(
        self, ct_ratio: object = 1, pt_ratio: object = 1, *, resolution: object = TOKEN_RESOLUTION
    ) -> Decimal:
        """Signed register units, rounded towards +∞: more when adding, less removed when removing."""
        return _ceil_to(self.energy / multiplier(ct_ratio, pt_ratio), _resolution(resolution))
