"""Property tests: round trips of every token kind, rejection of corrupted tokens, rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from prepay.domain.tokens.sts import MeterDecoder, api
from prepay.domain.tokens.sts.amount import (
    STANDARD_MAX_UNITS,
    decode_currency,
    decode_standard_units,
    encode_currency,
    encode_standard_amount,
    encode_standard_units,
)
from prepay.domain.tokens.sts.errors import AmountTooLargeError, StsError
from prepay.domain.tokens.sts.sta import StaCipher, sta_decrypt_reference, sta_encrypt_reference
from prepay.domain.tokens.sts.token import (
    ClearCreditToken,
    ClearTamperToken,
    CurrencyCreditToken,
    MeterTestToken,
    Set1stSectionDecoderKeyToken,
    Set2ndSectionDecoderKeyToken,
    Set3rdSectionDecoderKeyToken,
    SetMaxPhasePowerUnbalanceLimitToken,
    SetMaxPowerLimitToken,
    SetTariffRateToken,
    SetWaterMeterFactorToken,
    StandardCreditToken,
    Token,
)

keys = st.integers(0, 2**64 - 1)
tids = st.integers(0, 2**24 - 1)
rnds = st.integers(0, 15)
fields16 = st.integers(0, 0xFFFF)


def standard_credit() -> st.SearchStrategy[Token]:
    return st.builds(
        lambda sub, tid, rnd, field: StandardCreditToken(
            tid=tid, rnd=rnd, amount=Decimal(decode_standard_units(field)).scaleb(-1), subclass=sub
        ),
        st.integers(0, 3), tids, rnds, fields16,
    )  # fmt: skip


def currency_credit() -> st.SearchStrategy[Token]:
    return st.builds(
        lambda sub, tid, nib, field: CurrencyCreditToken(tid=tid, amount=decode_currency(nib, field), subclass=sub),
        st.integers(4, 7), tids, st.integers(0, 15), fields16,
    ).filter(lambda t: not (t.amount == 0 and t.amount.is_signed()))  # fmt: skip


def watts() -> st.SearchStrategy[int]:
    return fields16.map(decode_standard_units)


any_token: st.SearchStrategy[Token] = st.one_of(
    standard_credit(),
    currency_credit(),
    st.builds(MeterTestToken, st.integers(0, 2**28 - 1), st.integers(0, 0xFFFF), st.just(1)),
    st.builds(MeterTestToken, st.integers(0, 2**36 - 1), st.integers(0, 0xFF), st.just(0)),
    st.builds(SetMaxPowerLimitToken, tids, rnds, watts()),
    st.builds(SetMaxPhasePowerUnbalanceLimitToken, tids, rnds, watts()),
    st.builds(ClearCreditToken, tids, rnds, st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 0xFFFF])),
    st.builds(SetTariffRateToken, tids, rnds, fields16),
    st.builds(ClearTamperToken, tids, rnds, st.just(0)),
    st.builds(SetWaterMeterFactorToken, tids, rnds, fields16),
    st.builds(Set1stSectionDecoderKeyToken, rnds, rnds, st.booleans(), st.booleans(), st.integers(0, 3),
              st.integers(0, 2**32 - 1)),
    st.builds(Set2ndSectionDecoderKeyToken, rnds, st.integers(0, 255), st.integers(0, 2**32 - 1)),
    st.builds(Set3rdSectionDecoderKeyToken, st.integers(0, 999999)),
)  # fmt: skip


class RoundTripTestCase:
    @settings(max_examples=400)
    @given(token=any_token, key=keys)
    def test_it_decodes_what_it_encodes_for_every_token_kind(self, token: Token, key: int) -> None:
        text = api.encode_token(token, key)
        assert len(text) == 20 and int(text) < 2**66
        assert api.decode(text, key) == token

    @settings(max_examples=100)
    @given(block=keys, key=keys)
    def test_it_matches_the_reference_sta_both_ways(self, block: int, key: int) -> None:
        cipher = StaCipher(key)
        assert cipher.encrypt(block) == sta_encrypt_reference(block, key)
        assert cipher.decrypt(block) == sta_decrypt_reference(block, key)
        assert cipher.decrypt(cipher.encrypt(block)) == block


class RejectionTestCase:
    # A 16-bit CRC lets 1 in 65536 corruptions through in principle; derandomize keeps these
    # strict assertions deterministic.
    @settings(max_examples=200, derandomize=True)
    @given(token=any_token.filter(lambda t: not isinstance(t, MeterTestToken)), key=keys, other=keys)
    def test_it_rejects_a_token_decoded_with_a_wrong_key(self, token: Token, key: int, other: int) -> None:
        assume(key != other)
        text = api.encode_token(token, key)
        with pytest.raises(StsError) as info:
            api.decode(text, other)
        assert info.value.code in {"crc", "out_of_range"}
        assert MeterDecoder(other).enter(text).code in {"crc", "range"}

    @settings(max_examples=300, derandomize=True)
    @given(token=any_token, key=keys, pos=st.integers(0, 19), delta=st.integers(1, 9))
    def test_it_rejects_any_single_changed_digit(self, token: Token, key: int, pos: int, delta: int) -> None:
        text = api.encode_token(token, key)
        digits = list(text)
        digits[pos] = str((int(digits[pos]) + delta) % 10)
        result = MeterDecoder(key).enter("".join(digits))
        assert not result.accepted
        assert result.code in {"crc", "format", "range"}


class RoundingTestCase:
    @given(units=st.integers(0, STANDARD_MAX_UNITS))
    def test_it_never_encodes_less_than_paid_and_takes_the_next_step(self, units: int) -> None:
        field = encode_standard_units(units)
        assert 0 <= field <= 0xFFFF
        carried = decode_standard_units(field)
        assert carried >= units
        if field and (field & 0x3FFF):
            assert decode_standard_units(field - 1) < units  # the smallest value not below

    @given(tenths=st.integers(0, 10**9), digits=st.integers(1, 4))
    def test_it_rounds_decimal_amounts_up(self, tenths: int, digits: int) -> None:
        amount = Decimal(tenths).scaleb(-digits)
        if amount > Decimal("1820162.4"):
            with pytest.raises(AmountTooLargeError):
                encode_standard_amount(amount)
            return
        carried = Decimal(decode_standard_units(encode_standard_amount(amount))).scaleb(-1)
        assert carried >= amount

    @given(cents=st.integers(-(10**14), 10**14))
    def test_it_rounds_currency_toward_plus_infinity(self, cents: int) -> None:
        amount = Decimal(cents).scaleb(-2)
        nibble, field = encode_currency(amount)
        assert 0 <= nibble <= 15 and 0 <= field <= 0xFFFF
        carried = decode_currency(nibble, field)
        assert carried >= amount
        assert carried - amount <= max(abs(amount) / 1000, Decimal("0.00001")) * 2

    def test_it_refuses_amounts_beyond_the_field(self) -> None:
        assert encode_standard_amount("1820162.4") == 0xFFFF
        with pytest.raises(AmountTooLargeError) as info:
            encode_standard_amount("1820162.41")
        assert info.value.code == "amount_too_large"
        with pytest.raises(StsError):
            encode_standard_amount("-0.1")
        with pytest.raises(StsError):
            encode_standard_amount(1.5)  # type: ignore[arg-type]
