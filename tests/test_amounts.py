"""One parser for amounts people type and integrations send (``prepay.common.amounts``)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from prepay.common.amounts import parse_amount
from prepay.common.errors import ActionError


def refusal(value, **kw) -> str:
    with pytest.raises(ActionError) as info:
        parse_amount(value, "The amount", **kw)
    assert info.value.code == "invalid_amount"
    return str(info.value.message)


class ParseAmountTestCase:
    def test_it_reads_text_integers_and_decimals(self):
        assert parse_amount(" 12.50 ", "The amount") == Decimal("12.50")
        assert parse_amount(7, "The amount") == Decimal(7)
        assert parse_amount(Decimal("0.001"), "The energy") == Decimal("0.001")

    def test_it_rounds_half_up_to_the_places_asked_for(self):
        assert str(parse_amount("10.005", "The amount", places=2)) == "10.01"
        assert str(parse_amount("3", "The amount", places=2)) == "3.00"
        assert str(parse_amount("-1.2345", "The energy", sign="nonzero", places=3)) == "-1.235"

    @pytest.mark.parametrize("value", ["abc", "", None, "NaN", "Infinity", "-inf", True, "1,5"])
    def test_it_refuses_what_is_not_a_finite_number(self, value):
        assert refusal(value) == "The amount is not a number."

    def test_it_refuses_a_number_too_long_for_the_places_cleanly(self):
        assert refusal("1e40", places=2) == "The amount is not a number."

    def test_each_sign_rule(self):
        assert refusal("0") == refusal("-1") == "The amount must be a positive number."
        assert refusal("0", sign="nonzero") == "The amount must be a non-zero number."
        assert parse_amount("-4", "The amount", sign="nonzero") == Decimal(-4)
        assert refusal("-0.01", sign="nonnegative") == "The amount cannot be negative."
        assert parse_amount("0", "The amount", sign="nonnegative") == Decimal(0)

    def test_the_sign_is_checked_on_what_is_kept_after_rounding(self):
        assert refusal("0.004", places=2) == "The amount must be a positive number."
        assert refusal("0.0004", sign="nonzero", places=3) == "The amount must be a non-zero number."

    def test_it_refuses_in_chinese(self):
        with translation.override("zh-hans"), pytest.raises(ActionError) as info:
            parse_amount("-1", "金额")
        assert str(info.value.message) == "金额 必须为正数。"
