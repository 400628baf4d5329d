"""Property tests: the rounding promises of the tariff engine hold for generated tariffs."""

from __future__ import annotations

import decimal
from datetime import datetime, timedelta
from decimal import Decimal as D
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from prepay.domain.tariffs import (
    PurchaseError,
    Quote,
    Tariff,
    multiplier,
    price_interval,
    quote_energy,
    quote_money,
    register_units,
)

MODES = ["ROUND_HALF_UP", "ROUND_HALF_EVEN", "ROUND_DOWN", "ROUND_UP", "ROUND_HALF_DOWN"]
STEP = D("0.001")
FEN = D("0.01")


def decimals(lo: str, hi: str, places: int) -> st.SearchStrategy[D]:
    return st.decimals(D(lo), D(hi), places=places, allow_nan=False, allow_infinity=False)


@st.composite
def tariffs(draw: st.DrawFn) -> Tariff:
    n = draw(st.integers(1, 4))
    thresholds = sorted(set(draw(st.lists(decimals("1", "1000", 0), min_size=n - 1, max_size=n - 1))))
    blocks: list[dict[str, Any]] = [
        {"upto": str(u), "price": str(draw(decimals("0.01", "10", 4)))} for u in thresholds
    ]
    blocks.append({"upto": None, "price": str(draw(decimals("0.01", "10", 4)))})
    data: dict[str, Any] = {
        "kind": "tiered",
        "cycle": "month",
        "blocks": blocks,
        "vat_rate": draw(st.sampled_from(["0", "0.06", "0.09", "0.13"])),
        "vat_included": draw(st.booleans()),
        "rounding": {"money": draw(st.sampled_from(MODES))},
    }
    if draw(st.booleans()):
        data["fixed_charges"] = [
            {"name": "service", "amount": str(draw(decimals("0.01", "5", 2))), "per": "purchase"}
        ]
    if draw(st.booleans()):
        data["quota"] = {
            "energy": str(draw(decimals("1", "100", 0))),
            "price": str(draw(decimals("0", "1", 4))),
        }
    return Tariff.from_dict(data)


moneys = decimals("0.01", "20000", 2)
energies = decimals("0.001", "5000", 3)
positions = decimals("0", "1000", 3)


def exact_total(t: Tariff, q: Quote) -> D:
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        base = sum((ln.energy * ln.price for ln in q.lines), D(0)) + q.fixed_amount
        return base if t.vat_included else base * (1 + t.vat_rate)


def tolerance(t: Tariff) -> D:
    return FEN / 2 if t.money_rounding in ("ROUND_HALF_UP", "ROUND_HALF_EVEN", "ROUND_HALF_DOWN") else FEN


def check_sums(t: Tariff, q: Quote) -> None:
    assert sum((ln.energy for ln in q.lines), D(0)) == q.energy
    assert sum((ln.amount for ln in q.lines), D(0)) == q.energy_amount
    assert q.energy_amount + q.fixed_amount == (q.total if t.vat_included else q.net_amount)
    assert q.net_amount + q.vat_amount == q.total
    assert q.vat_amount >= 0
    assert abs(q.total - exact_total(t, q)) <= tolerance(t)  # rounded once: within one step
    for ln in q.lines:
        assert abs(ln.amount - ln.energy * ln.price) < FEN


class MoneyToEnergyPropertiesTestCase:
    @settings(max_examples=300, deadline=None)
    @given(tariffs(), moneys, positions, positions)
    def test_it_never_charges_more_than_paid_nor_short_changes_by_a_step(self, t, paid, used, quota_used):
        try:
            q = quote_money(t, paid, used_in_cycle=used, quota_used=quota_used)
        except PurchaseError as exc:
            assume(exc.code not in ("fixed_charges_not_covered", "too_small_for_any_energy"))
            raise
        check_sums(t, q)
        assert q.total <= paid and q.unspent == paid - q.total
        # money → energy → money: the energy costs what the quote says, never more than paid …
        assert quote_energy(t, q.energy, used_in_cycle=used, quota_used=quota_used).total == q.total
        # … and one more energy step would cost more than was paid: the customer is short by < 1 step
        assert quote_energy(t, q.energy + STEP, used_in_cycle=used, quota_used=quota_used).total > paid
        # in money: the unspent remainder is at most one energy step at the dearest price plus a fen
        dearest = max(ln.price for ln in t.blocks) * (1 + t.vat_rate)
        assert q.unspent <= STEP * dearest + FEN
        assert q.used_in_cycle_after + q.quota_used_after == used + quota_used + q.energy


class EnergyToMoneyPropertiesTestCase:
    @settings(max_examples=300, deadline=None)
    @given(tariffs(), energies, positions)
    def test_it_round_trips_energy_within_a_step(self, t, energy, used):
        qe = quote_energy(t, energy, used_in_cycle=used)
        check_sums(t, qe)
        assert qe.energy == energy
        assume(qe.total > 0)  # a purchase that rounds to ¥0.00 cannot be bought back with money
        qm = quote_money(t, qe.total, used_in_cycle=used)
        # the same money buys at least the same energy, and that energy costs the same money
        assert qm.energy >= energy
        assert quote_energy(t, qm.energy, used_in_cycle=used).total == qe.total
        # both exact prices fall in the same rounding bucket: the extra energy is worth < one money step
        assert exact_total(t, qm) - exact_total(t, qe) < FEN

    @settings(max_examples=200, deadline=None)
    @given(tariffs(), energies, energies, positions)
    def test_it_advances_the_tier_position_by_purchased_energy(self, t, e1, e2, used):
        q1 = quote_energy(t, e1, used_in_cycle=used)
        q2 = quote_energy(t, e2, used_in_cycle=q1.used_in_cycle_after, quota_used=q1.quota_used_after)
        both = quote_energy(t, e1 + e2, used_in_cycle=used)
        # two purchases in a row walk the same blocks as one: the same energy in each block
        per_block: dict[str, D] = {}
        for ln in q1.lines + q2.lines:
            per_block[ln.key] = per_block.get(ln.key, D(0)) + ln.energy
        assert per_block == {ln.key: ln.energy for ln in both.lines}
        # and the exact money of the lines adds up: splitting a purchase never changes its exact price
        with decimal.localcontext() as ctx:
            ctx.prec = 60
            assert sum(ln.energy * ln.price for ln in q1.lines + q2.lines) == sum(
                ln.energy * ln.price for ln in both.lines
            )


class RoundTripSchemaPropertiesTestCase:
    @settings(max_examples=100, deadline=None)
    @given(tariffs())
    def test_it_parses_its_own_output(self, t):
        assert Tariff.from_dict(t.to_dict()) == t


class MultiplierPropertiesTestCase:
    @settings(max_examples=500, deadline=None)
    @given(decimals("0", "1820162.4", 3), st.integers(1, 400), st.sampled_from([1, 10, 35, 100, 350]))
    def test_it_never_loads_less_than_purchased(self, energy, ct, pt):
        units = register_units(energy, ct, pt)
        m = multiplier(ct, pt)
        assert units * m >= energy
        assert units * m - energy < D("0.1") * m
        assert units == units.quantize(D("0.1"))


TOU = Tariff.from_dict(
    {
        "prices": {"sharp": "1.2500", "peak": "0.9800", "flat": "0.6500", "valley": "0.3200"},
        "schedule": [
            ["00:00", "08:00", "valley"],
            ["08:00", "10:00", "flat"],
            ["10:00", "12:00", "sharp"],
            ["12:00", "17:00", "peak"],
            ["17:00", "22:00", "flat"],
            ["22:00", "24:00", "valley"],
        ],
        "rounding": {"energy": "ROUND_HALF_EVEN"},
    }
)


class IntervalPropertiesTestCase:
    @settings(max_examples=300, deadline=None)
    @given(
        st.datetimes(datetime(2024, 1, 1), datetime(2026, 1, 1)),
        st.integers(1, 3 * 24 * 60),
        decimals("0", "10000", 3),
    )
    def test_it_splits_interval_energy_exactly(self, start, minutes, energy):
        q = price_interval(TOU, energy, start, start + timedelta(minutes=minutes))
        assert q.energy == energy
        check_sums(TOU, q)
