"""One parser for amounts people type and integrations send (``prepay.common.amounts``), over the
plain-decimal rule of ``prepay.domain.typed``."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from prepay.common.amounts import parse_amount
from prepay.common.errors import ActionError
from prepay.domain.typed import TypedError, ascii_text, plain_decimal


def refusal(value, **kw) -> str:
    with pytest.raises(ActionError) as info:
        parse_amount(value, "The amount", **kw)
    assert info.value.code == "invalid_amount"
    return str(info.value.message)


NOT_PLAIN = "The amount must be a plain number such as 120 or 120.50 (digits and at most one decimal point)."


class ParseAmountTestCase:
    def test_it_reads_text_integers_and_decimals(self):
        assert parse_amount(" 12.50 ", "The amount") == Decimal("12.50")
        assert parse_amount(7, "The amount") == Decimal(7)
        assert parse_amount(Decimal("0.001"), "The energy") == Decimal("0.001")

    def test_it_gives_exactly_the_places_asked_for(self):
        assert str(parse_amount("3", "The amount", places=2)) == "3.00"
        assert str(parse_amount("12.500", "The amount", places=2)) == "12.50"  # only zeros dropped
        assert str(parse_amount("-1.234", "The energy", sign="nonzero", places=3)) == "-1.234"

    def test_it_never_rounds_a_value_with_more_places(self):
        assert refusal("10.005", places=2) == "The amount can have at most 2 decimal places."
        assert refusal(Decimal("1.2345"), places=3) == "The amount can have at most 3 decimal places."

    @pytest.mark.parametrize("value", ["0.001", "0.009", "0.0001"])
    def test_it_says_below_one_fen_in_words(self, value):
        assert refusal(value, places=2) == "The amount is less than one fen; the smallest amount is 0.01."

    def test_it_names_the_smallest_step_of_energy(self):
        assert refusal("0.0004", places=3) == "The amount is less than the smallest step, 0.001."

    @pytest.mark.parametrize(
        "value",
        ["abc", "", None, "NaN", "Infinity", "-inf", True, 1.5, "1,5", "1_000", "1E+2", "1e26", "1,000",
         "1 000", "+5", ".5", "5.", "1.2.3", "0x10", "١٢", "12 yuan", "--1", "- 1"],
    )  # fmt: skip
    def test_it_refuses_what_is_not_a_plain_decimal(self, value):
        assert refusal(value, places=2) == NOT_PLAIN

    def test_it_refuses_what_would_overflow(self):
        message = "The amount is too large (at most 12 digits before the decimal point)."
        assert refusal("1000000000000", places=2) == message
        assert refusal(10**40, places=2) == message
        assert parse_amount("999999999999.99", "The amount", places=2) == Decimal("999999999999.99")

    @pytest.mark.parametrize(
        ("typed", "value"),
        [
            ("１００", "100.00"),
            ("１２．５", "12.50"),
            ("12。5", "12.50"),
            ("\u3000８８\u3000", "88.00"),
            ("－3", "-3.00"),
        ],
    )
    def test_it_reads_full_width_digits_from_a_chinese_ime(self, typed, value):
        assert str(parse_amount(typed, "The amount", sign="nonzero", places=2)) == value

    def test_each_sign_rule(self):
        assert refusal("0", places=2) == "The amount must be at least one fen (0.01)."
        assert refusal("0") == "The amount must be more than zero."
        assert refusal("-1") == refusal("-5", places=2) == "The amount cannot be negative."
        assert refusal("0", sign="nonzero") == "The amount must not be zero."
        assert parse_amount("-4", "The amount", sign="nonzero") == Decimal(-4)
        assert refusal("-0.01", sign="nonnegative") == "The amount cannot be negative."
        assert parse_amount("0", "The amount", sign="nonnegative") == Decimal(0)

    def test_it_refuses_in_chinese(self):
        with translation.override("zh-hans"), pytest.raises(ActionError) as info:
            parse_amount("-1", "金额")
        assert str(info.value.message) == "金额 不能为负数。"
        with translation.override("zh-hans"), pytest.raises(ActionError) as info:
            parse_amount("0.001", "金额", places=2)
        assert "分" in str(info.value.message)


class PlainDecimalTestCase:
    @given(st.decimals(min_value=-(10**12) + 1, max_value=10**12 - 1, places=2, allow_nan=False))
    def test_it_reads_back_every_amount_it_could_be_sent(self, d: Decimal):
        assert plain_decimal(format(d, "f"), 2) == d
        assert plain_decimal(format(d, "f").translate(FULL_WIDTH), 2) == d

    @given(st.text())
    def test_it_accepts_only_what_matches_the_plain_form(self, text: str):
        try:
            d = plain_decimal(text)
        except TypedError:
            return
        plain = ascii_text(text).strip()
        assert d == Decimal(plain) and all(c in "-.0123456789" for c in plain)

    def test_it_leaves_names_alone(self):
        assert ascii_text("张三 Ａ栋") == "张三 A栋"
        assert ascii_text("plain") == "plain"


FULL_WIDTH = str.maketrans("0123456789.-", "０１２３４５６７８９．－")
