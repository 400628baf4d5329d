"""Public-area apportionment (pure): worked examples by area and by consumption, exact sums."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prepay.domain.apportionment import ApportionmentError, allocate, apportion


class ApportionTestCase:
    def test_it_shares_by_floor_area(self) -> None:
        # 300 kWh of lift and corridor energy among units of 60, 90 and 150 m²
        r = apportion(
            Decimal("300"), "area", [("101", Decimal("60")), ("102", Decimal("90")), ("201", Decimal("150"))]
        )
        assert [s.amount for s in r.shares] == [Decimal("60.000"), Decimal("90.000"), Decimal("150.000")]
        assert r.basis_total == Decimal("300") and r.shares[0].fraction == Decimal("0.2")

    def test_it_shares_by_consumption_with_largest_remainders(self) -> None:
        # 100 kWh shared by own use 1 : 1 : 1 → 33.334, 33.333, 33.333 (the first gets the spare Wh)
        r = apportion(
            Decimal("100"), "consumption", [("a", Decimal("50")), ("b", Decimal("50")), ("c", Decimal("50"))]
        )
        assert [s.amount for s in r.shares] == [Decimal("33.334"), Decimal("33.333"), Decimal("33.333")]
        assert sum(s.amount for s in r.shares) == Decimal("100")

    def test_it_shares_equally_and_falls_back_when_every_basis_is_zero(self) -> None:
        r = apportion(Decimal("10"), "consumption", [("a", Decimal("0")), ("b", Decimal("0"))])
        assert r.fallback == "equal" and [s.amount for s in r.shares] == [Decimal("5.000")] * 2
        r = apportion(
            Decimal("9"), "equal", [("a", Decimal("70")), ("b", Decimal("30")), ("c", Decimal("0"))]
        )
        assert [s.amount for s in r.shares] == [Decimal("3.000")] * 3

    def test_it_refuses_bad_input(self) -> None:
        for args in [
            (Decimal("1"), "volume", [("a", Decimal("1"))]),
            (Decimal("1"), "area", []),
            (Decimal("1"), "area", [("a", Decimal("-1"))]),
            (1.5, "area", [("a", Decimal("1"))]),
            (Decimal("1.0001"), "area", [("a", Decimal("1"))]),
        ]:
            with pytest.raises(ApportionmentError):
                apportion(*args)  # type: ignore[arg-type]

    @given(
        st.integers(min_value=-(10**9), max_value=10**9),
        st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=20),
    )
    def test_it_always_adds_up_within_one_step(self, total: int, weights: list[int]) -> None:
        t = Decimal(total).scaleb(-3)
        amounts = allocate(t, [(i, Decimal(w)) for i, w in enumerate(weights)])
        assert sum(amounts) == t
        whole = sum(weights) or len(weights)
        for a, w in zip(amounts, weights, strict=True):
            exact = t * Decimal(w if sum(weights) else 1) / whole
            assert abs(a - exact) < Decimal("0.001")
