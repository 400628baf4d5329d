"""The two-stage low-credit rule (pure)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prepay.domain import warnings as w

T = w.Thresholds(level1=Decimal("20"), level2=Decimal("5"), overdraft=Decimal("0"))


def run(state: w.SupplyState, balance: str, **kw: bool) -> w.Decision:
    return w.evaluate(state, w.Facts(balance=Decimal(balance), **kw), T)


class WarningRuleTestCase:
    def test_it_walks_level1_level2_zero_and_payment(self) -> None:
        s = w.SupplyState()
        d = run(s, "25")
        assert (d.notify, d.trip, d.close) == ((), False, False)
        d = run(d.state, "19.99")
        assert d.notify == (w.Level.LEVEL1,) and not d.trip
        d = run(d.state, "18")
        assert d.notify == () and not d.trip  # notified once per descent
        d = run(d.state, "4.50")
        assert d.notify == (w.Level.LEVEL2,) and d.trip and d.reason == "reminder"
        d = run(d.state, "4.00")
        assert not d.trip and not d.close  # held open until restored
        restored = w.restore(d.state)
        d = run(restored, "3.00")
        assert not d.trip and not d.close  # the reminder is given once
        d = run(d.state, "0")
        assert d.notify == (w.Level.ZERO,) and d.trip and d.reason == "zero"
        with pytest.raises(w.WarningError) as info:
            w.restore(d.state)
        assert info.value.code == "cut_until_payment"
        d = run(d.state, "50")
        assert d.close and d.state.level is w.Level.NORMAL and not d.state.reminder_done

    def test_it_closes_when_a_payment_lifts_zero_into_level2(self) -> None:
        d = run(w.SupplyState(), "-1")
        assert d.trip and d.notify == (w.Level.LEVEL1, w.Level.LEVEL2, w.Level.ZERO)
        d = run(d.state, "3")
        assert d.close and not d.trip

    def test_it_allows_a_permitted_overdraft(self) -> None:
        t = w.Thresholds(level1=Decimal("20"), level2=Decimal("5"), overdraft=Decimal("30"))
        d = w.evaluate(
            w.SupplyState(level=w.Level.LEVEL2, reminder_done=True), w.Facts(balance=Decimal("-10")), t
        )
        assert not d.trip
        d = w.evaluate(d.state, w.Facts(balance=Decimal("-30")), t)
        assert d.trip and d.reason == "zero"

    def test_it_never_cuts_protected_supply_and_closes_a_cut_relay(self) -> None:
        d = run(w.SupplyState(), "-5", protected=True)
        assert not d.trip and d.state.suppressed and d.state.cut == ""
        d = run(d.state, "-5")  # protection over: cut now
        assert d.trip
        d = run(d.state, "-5", protected=True)
        assert d.close and d.reason == "protected"

    def test_it_cuts_postpaid_only_past_the_grace_days(self) -> None:
        d = run(w.SupplyState(), "-100", postpaid=True)
        assert (d.notify, d.trip) == ((), False)
        d = run(d.state, "-100", postpaid=True, overdue=True)
        assert d.notify == (w.Level.LEVEL1,) and not d.trip
        d = run(d.state, "-100", postpaid=True, overdue=True, overdue_past_grace=True)
        assert d.trip and d.reason == "overdue"
        d = run(d.state, "0", postpaid=True)
        assert d.close

    def test_it_cuts_on_fee_arrears(self) -> None:
        d = run(w.SupplyState(), "100", fee_arrears=True)
        assert d.trip and d.reason == "fees"

    def test_it_refuses_rising_thresholds(self) -> None:
        with pytest.raises(w.WarningError):
            w.Thresholds(level1=Decimal("5"), level2=Decimal("20"))
        with pytest.raises(w.WarningError):
            w.Thresholds(level1=Decimal("5"), level2=Decimal("2"), overdraft=Decimal("-1"))

    def test_it_refuses_restoring_an_uncut_supply(self) -> None:
        with pytest.raises(w.WarningError) as info:
            w.restore(w.SupplyState())
        assert info.value.code == "not_cut"

    @given(st.lists(st.integers(min_value=-50, max_value=50), min_size=1, max_size=30))
    def test_it_is_idempotent_and_never_trips_twice_in_a_row(self, balances: list[int]) -> None:
        s = w.SupplyState()
        for b in balances:
            d = run(s, str(b))
            again = w.evaluate(d.state, w.Facts(balance=Decimal(b)), T)
            assert (again.trip, again.close, again.notify) == (False, False, ())
            assert not (d.trip and s.cut)  # never trips an open relay
            assert not (d.close and not s.cut)  # never closes what it did not open
            s = d.state
