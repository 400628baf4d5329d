"""Pricing: money → energy, energy → money and interval (time-of-use) billing, with breakdowns.

Rounding points (all named, all through ``prepay.domain.money.quantize``; the money mode is the
tariff's ``rounding.money``, ROUND_HALF_UP by default):

* ``total`` — the money of a quote is rounded ONCE, from the exact sum of energy × price plus fixed
  charges (× (1 + VAT) when VAT is added). So a total is never more than half a fen (one step for
  other modes) away from the exact price: nobody is overcharged by more than one rounding step.
* ``net`` — when prices include VAT, the net amount is ``round(total ÷ (1 + rate))``; when VAT is
  added the net is the energy charge plus fixed charges. VAT is always ``total − net``.
* ``lines`` — each breakdown line's amount is the difference of the rounded running totals, so lines
  sum exactly to the energy charge and each line is within one step of its exact amount.
* ``energy`` (quote_money) — the energy bought is the LARGEST multiple of ``step`` (0.001 by default)
  whose price (rounded as above) is at most the money paid. Hence money → energy → money never
  charges more than was paid, and the customer is short by less than one energy step.
* ``interval energy`` (intervals.py) — interval energy is rounded to 0.001 with ``rounding.energy``;
  a split across time-of-use periods is proportional to time, rounded on running totals so the
  pieces add up.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from prepay.domain.money import ENERGY_PLACES, MONEY_PLACES, QuantityError, quantize, to_decimal

from .errors import PurchaseError
from .schema import Block, ChargeBasis, Kind, Tariff, Unit

MONEY_STEP = Decimal("0.01")
ENERGY_STEP = Decimal("0.001")
_PRECISION = 60  # working precision: products of 3-place energy and 6-place prices are exact


@dataclass(frozen=True)
class Line:
    """One breakdown line: ``energy`` at ``price`` costs ``amount`` (money, price basis of the tariff).

    ``key`` is stable for code and translation: ``quota``, ``tier:1``…, ``period:peak``…, ``flat``, ``tou``.
    """

    key: str
    label: str
    energy: Decimal
    price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class FixedLine:
    name: str
    amount: Decimal


@dataclass(frozen=True)
class Quote:
    """A priced amount of energy.

    Invariants: ``sum(l.energy for l in lines) == energy``; ``sum(l.amount for l in lines) ==
    energy_amount``; ``energy_amount + fixed_amount`` equals ``total`` when prices include VAT and
    ``net_amount`` when VAT is added; ``net_amount + vat_amount == total``; ``paid − total == unspent ≥ 0``.
    """

    unit: Unit
    energy: Decimal
    lines: tuple[Line, ...]
    energy_amount: Decimal
    fixed: tuple[FixedLine, ...]
    fixed_amount: Decimal
    net_amount: Decimal
    vat_rate: Decimal
    vat_included: bool
    vat_amount: Decimal
    total: Decimal
    paid: Decimal
    unspent: Decimal
    used_in_cycle: Decimal
    used_in_cycle_after: Decimal
    quota_used: Decimal
    quota_used_after: Decimal
    #: the total before its one rounding (working precision): what the energy and charges cost
    #: exactly. Charging rounds a run of pieces as a whole from these (prepay.domain.charging).
    exact_total: Decimal = Decimal(0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (Decimals as strings) for receipts and the API."""
        return {
            "unit": self.unit.value,
            "energy": str(self.energy),
            "lines": [
                {
                    "key": line.key,
                    "label": line.label,
                    "energy": str(line.energy),
                    "price": str(line.price),
                    "amount": str(line.amount),
                }
                for line in self.lines
            ],
            "energy_amount": str(self.energy_amount),
            "fixed": [{"name": f.name, "amount": str(f.amount)} for f in self.fixed],
            "fixed_amount": str(self.fixed_amount),
            "net_amount": str(self.net_amount),
            "vat_rate": str(self.vat_rate),
            "vat_included": self.vat_included,
            "vat_amount": str(self.vat_amount),
            "total": str(self.total),
            "paid": str(self.paid),
            "unspent": str(self.unspent),
            "used_in_cycle": str(self.used_in_cycle),
            "used_in_cycle_after": str(self.used_in_cycle_after),
            "quota_used": str(self.quota_used),
            "quota_used_after": str(self.quota_used_after),
        }


# --------------------------------------------------------------------------------------------------
# the energy axis: quota first, then the blocks from the cycle position on


@dataclass(frozen=True)
class _Segment:
    key: str
    label: str
    price: Decimal
    capacity: Decimal | None  # None: unbounded
    order: tuple[int, int]
    quota: bool = False


@dataclass(frozen=True)
class _Fill:
    key: str
    label: str
    price: Decimal
    energy: Decimal
    order: tuple[int, int]
    quota: bool


def _quota_segment(tariff: Tariff, quota_used: Decimal) -> list[_Segment]:
    left = Decimal(0) if tariff.quota is None else tariff.quota.energy - quota_used
    return _quota_left_segment(tariff, left)


def _quota_left_segment(tariff: Tariff, left: Decimal) -> list[_Segment]:
    if tariff.quota is None or left <= 0:
        return []
    return [_Segment("quota", tariff.quota.label, tariff.quota.price, left, (0, 0), quota=True)]


def _block_segments(blocks: Sequence[Block], kind: Kind, used: Decimal) -> list[_Segment]:
    out: list[_Segment] = []
    floor = Decimal(0)
    for i, b in enumerate(blocks):
        key = f"tier:{i + 1}" if kind is Kind.TIERED else kind.value
        start = max(used, floor)
        if b.upto is None:
            out.append(_Segment(key, b.label, b.price, None, (1, i)))
            break
        if b.upto > start:
            out.append(_Segment(key, b.label, b.price, b.upto - start, (1, i)))
        floor = b.upto
    return out


def _fill(segments: Iterable[_Segment], energy: Decimal) -> list[_Fill]:
    fills: list[_Fill] = []
    left = energy
    for s in segments:
        if left <= 0:
            break
        take = left if s.capacity is None else min(left, s.capacity)
        fills.append(_Fill(s.key, s.label, s.price, take, s.order, s.quota))
        left -= take
    assert left <= 0, "segments always end with an unbounded block"
    return fills


def _energy_for_budget(segments: Iterable[_Segment], budget: Decimal) -> Decimal:
    """Exact-ish energy (working precision) bought by ``budget`` (price basis) along the segments."""
    energy = Decimal(0)
    for s in segments:
        if s.capacity is not None and s.capacity * s.price <= budget:
            energy += s.capacity
            budget -= s.capacity * s.price
            continue
        return energy + budget / s.price
    return energy


# --------------------------------------------------------------------------------------------------
# building a quote from fills


def _running_round(values: Sequence[Decimal], places: int, mode: str) -> list[Decimal]:
    """Round so the parts add up to the rounded sum: part_i = R(cum_i) − R(cum_{i−1})."""
    out: list[Decimal] = []
    cum = Decimal(0)
    previous = quantize(0, places, mode)
    for v in values:
        cum += v
        rounded = quantize(cum, places, mode)
        out.append(rounded - previous)
        previous = rounded
    return out


def _merge(fills: Iterable[_Fill]) -> list[_Fill]:
    merged: dict[tuple[str, Decimal], _Fill] = {}
    for f in fills:
        k = (f.key, f.price)
        old = merged.get(k)
        merged[k] = (
            f if old is None else _Fill(f.key, f.label, f.price, old.energy + f.energy, old.order, f.quota)
        )
    return sorted(merged.values(), key=lambda f: (f.order, f.price))


def _fixed_lines(tariff: Tariff, *, per_purchase: bool, cycle: bool) -> tuple[FixedLine, ...]:
    return tuple(
        FixedLine(c.name, c.amount)
        for c in tariff.fixed_charges
        if (c.per is ChargeBasis.PURCHASE and per_purchase) or (c.per is ChargeBasis.CYCLE and cycle)
    )


def _build(
    tariff: Tariff,
    fills: Iterable[_Fill],
    fixed: tuple[FixedLine, ...],
    *,
    paid: Decimal | None,
    used: Decimal,
    quota_used: Decimal,
) -> Quote:
    mode = tariff.money_rounding
    with decimal.localcontext() as ctx:
        ctx.prec = _PRECISION
        merged = [f for f in _merge(fills) if f.energy > 0]
        exact = [f.energy * f.price for f in merged]
        amounts = list(_running_round(exact, MONEY_PLACES, mode))
        energy_exact = sum(exact, Decimal(0))
        fixed_amount = sum((f.amount for f in fixed), Decimal("0.00"))
        # Round energy + fixed charges once. Half-even rounding is not shift-invariant
        # (round(0.015) = 0.02 but round(0.015 + 0.01) = 0.02), so the energy charge is what is
        # left after the fixed charges, and the last line absorbs that fen: lines still add up,
        # and with VAT added total ≥ net, i.e. VAT is never negative.
        base = quantize(energy_exact + fixed_amount, MONEY_PLACES, mode)
        energy_amount = base - fixed_amount
        if amounts:
            amounts[-1] += energy_amount - sum(amounts, Decimal("0.00"))
        one_plus = 1 + tariff.vat_rate
        if tariff.vat_included:
            exact_total = energy_exact + fixed_amount
            total = base
            net = quantize(total / one_plus, MONEY_PLACES, mode)
        else:
            exact_total = (energy_exact + fixed_amount) * one_plus
            net = energy_amount + fixed_amount
            total = quantize(exact_total, MONEY_PLACES, mode)
        paid_ = total if paid is None else paid
        quota_energy = sum((f.energy for f in merged if f.quota), Decimal(0))
        energy = sum((f.energy for f in merged), Decimal(0))
        return Quote(
            unit=tariff.unit,
            energy=quantize(energy, ENERGY_PLACES),
            lines=tuple(
                Line(f.key, f.label, quantize(f.energy, ENERGY_PLACES), f.price, a)
                for f, a in zip(merged, amounts, strict=True)
            ),
            energy_amount=energy_amount,
            fixed=fixed,
            fixed_amount=fixed_amount,
            net_amount=net,
            vat_rate=tariff.vat_rate,
            vat_included=tariff.vat_included,
            vat_amount=total - net,
            total=total,
            paid=paid_,
            unspent=paid_ - total,
            used_in_cycle=used,
            used_in_cycle_after=quantize(used + energy - quota_energy, ENERGY_PLACES),
            quota_used=quota_used,
            quota_used_after=quantize(quota_used + quota_energy, ENERGY_PLACES),
            exact_total=exact_total,
        )


# --------------------------------------------------------------------------------------------------
# argument checks


def _quantity(value: object, name: str, places: int, *, positive: bool) -> Decimal:
    try:
        d = to_decimal(value)
    except QuantityError as exc:
        raise PurchaseError("not_a_number", f"{name}: {exc}", field=name) from exc
    if d.as_tuple().exponent < -places:  # type: ignore[operator]
        raise PurchaseError(
            "too_many_places", f"{name} {d} has more than {places} decimal places", field=name
        )
    if d < 0 or (positive and d == 0):
        raise PurchaseError(
            "not_positive",
            f"{name} must be {'positive' if positive else 'zero or more'}, not {d}",
            field=name,
        )
    return quantize(d, places)


def _check_limits(tariff: Tariff, amount: Decimal) -> None:
    if tariff.min_purchase is not None and amount < tariff.min_purchase:
        raise PurchaseError(
            "below_minimum",
            f"{amount} is below the minimum purchase {tariff.min_purchase}",
            amount=amount,
            minimum=tariff.min_purchase,
        )
    if tariff.max_purchase is not None and amount > tariff.max_purchase:
        raise PurchaseError(
            "above_maximum",
            f"{amount} is above the maximum purchase {tariff.max_purchase}",
            amount=amount,
            maximum=tariff.max_purchase,
        )


def _position(used_in_cycle: object, quota_used: object) -> tuple[Decimal, Decimal]:
    return (
        _quantity(used_in_cycle, "used_in_cycle", ENERGY_PLACES, positive=False),
        _quantity(quota_used, "quota_used", ENERGY_PLACES, positive=False),
    )


# --------------------------------------------------------------------------------------------------
# public: purchases


def quote_energy(
    tariff: Tariff,
    energy: object,
    *,
    used_in_cycle: object = 0,
    quota_used: object = 0,
    charge_cycle_fees: bool = False,
) -> Quote:
    """The money a customer pays for ``energy`` (kWh / m³, at most 3 places) bought ahead of use.

    ``used_in_cycle`` is the energy already counted towards the tiers in this cycle (prepaid practice:
    purchased energy advances the tier position); ``quota_used`` the flat-price quota already used.
    ``charge_cycle_fees`` adds the per-cycle fixed charges (the caller knows it is the cycle's first
    purchase). Raises ``PurchaseError`` when the total is outside the tariff's min/max purchase.
    """
    e = _quantity(energy, "energy", ENERGY_PLACES, positive=True)
    used, q_used = _position(used_in_cycle, quota_used)
    segments = _quota_segment(tariff, q_used) + _block_segments(tariff.purchase_blocks(), tariff.kind, used)
    fixed = _fixed_lines(tariff, per_purchase=True, cycle=charge_cycle_fees)
    quote = _build(tariff, _fill(segments, e), fixed, paid=None, used=used, quota_used=q_used)
    _check_limits(tariff, quote.total)
    return quote


def quote_money(
    tariff: Tariff,
    paid: object,
    *,
    used_in_cycle: object = 0,
    quota_used: object = 0,
    charge_cycle_fees: bool = False,
    step: object = ENERGY_STEP,
) -> Quote:
    """The energy a payment of ``paid`` (money, at most 2 places) buys, with its breakdown.

    The energy is the largest multiple of ``step`` (default 0.001; pass 0.1 to sell whole token
    units) whose ``quote_energy`` total is ≤ ``paid``. So the quote never charges more than was paid,
    and the customer is short of the exact energy by less than one ``step``; ``unspent`` shows the
    (sub-step) money left over. Limits are checked on ``paid``.
    """
    t = _quantity(paid, "paid", MONEY_PLACES, positive=True)
    st = _quantity(step, "step", ENERGY_PLACES, positive=True)
    used, q_used = _position(used_in_cycle, quota_used)
    _check_limits(tariff, t)
    segments = _quota_segment(tariff, q_used) + _block_segments(tariff.purchase_blocks(), tariff.kind, used)
    fixed = _fixed_lines(tariff, per_purchase=True, cycle=charge_cycle_fees)
    fixed_amount = sum((f.amount for f in fixed), Decimal(0))

    def cost(k: int) -> Decimal:
        return _build(tariff, _fill(segments, k * st), fixed, paid=None, used=used, quota_used=q_used).total

    if cost(0) > t:
        raise PurchaseError(
            "fixed_charges_not_covered",
            f"{t} does not cover the fixed charges of {fixed_amount}",
            paid=t,
            fixed=fixed_amount,
        )
    with decimal.localcontext() as ctx:
        ctx.prec = _PRECISION

        def steps_for(money: Decimal) -> Decimal:
            basis = money if tariff.vat_included else money / (1 + tariff.vat_rate)
            return _energy_for_budget(segments, max(basis - fixed_amount, Decimal(0))) / st

        lo = int(steps_for(t).to_integral_value(decimal.ROUND_FLOOR))
        hi = int(steps_for(t + MONEY_STEP).to_integral_value(decimal.ROUND_CEILING)) + 1
    while lo > 0 and cost(lo) > t:  # guards the working precision; not expected to loop
        lo -= 1
    while cost(hi) <= t:
        hi *= 2
    while hi - lo > 1:  # invariant: cost(lo) ≤ t < cost(hi); cost is monotone in energy
        mid = (lo + hi) // 2
        if cost(mid) <= t:
            lo = mid
        else:
            hi = mid
    if lo == 0:
        raise PurchaseError(
            "too_small_for_any_energy", f"{t} buys less than {st} {tariff.unit.value}", paid=t
        )
    return _build(tariff, _fill(segments, lo * st), fixed, paid=t, used=used, quota_used=q_used)
