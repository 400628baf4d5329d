"""Money in words (``prepay.domain.words``): 大写金额 as 《支付结算办法》 writes it, and English."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prepay.domain.words import chinese_uppercase, english_words


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("1409.50", "壹仟肆佰零玖元伍角"),
        ("6007.14", "陆仟零柒元壹角肆分"),
        ("1680.32", "壹仟陆佰捌拾元叁角贰分"),
        ("107000.53", "壹拾万柒仟元伍角叁分"),
        ("16409.02", "壹万陆仟肆佰零玖元零贰分"),
        ("325.04", "叁佰贰拾伍元零肆分"),
        ("10", "壹拾元整"),
        ("0", "零元整"),
        ("0.05", "伍分"),
        ("0.50", "伍角"),
        ("100010000", "壹亿零壹万元整"),
        ("1000001", "壹佰万零壹元整"),
        ("-3.20", "负叁元贰角"),
    ],
)
def test_it_writes_chinese_uppercase_like_the_textbook(amount: str, words: str) -> None:
    assert chinese_uppercase(Decimal(amount)) == words


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("12000", "twelve thousand yuan"),
        ("1409.05", "one thousand four hundred nine yuan and five fen"),
        ("0.50", "fifty fen"),
        ("21.99", "twenty-one yuan and ninety-nine fen"),
    ],
)
def test_it_writes_english_words(amount: str, words: str) -> None:
    assert english_words(Decimal(amount)) == words


@given(st.integers(min_value=0, max_value=999_999_999_999_99))
def test_every_amount_reads_back(fen: int) -> None:
    """The words name every non-zero digit once, in order (read back digit by digit)."""
    amount = Decimal(fen).scaleb(-2)
    text = chinese_uppercase(amount)
    digits = "".join(str("零壹贰叁肆伍陆柒捌玖".index(c)) for c in text if c in "壹贰叁肆伍陆柒捌玖")
    assert digits == "".join(ch for ch in f"{amount:.2f}" if ch not in "0.")
    assert "零零" not in text and not text.startswith("零") or text == "零元整"


def test_it_refuses_more_than_two_decimals() -> None:
    with pytest.raises(ValueError):
        chinese_uppercase(Decimal("1.234"))
