"""Meter-side decoder: replay memory, key change, expiry and CRC rules."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from prepay.domain.tokens.sts import MeterDecoder, api

from .vectors import dk

K02A = int(dk("K02A"), 16)


def credit(tid: int, amount: str = "1", key: str = dk("K02A")) -> str:
    return api.credit_token(key, 0, amount, tid=tid, rnd=5).token


class MeterDecoderTestCase:
    def test_it_accepts_a_vector_token_once_then_rejects_the_replay(self) -> None:
        meter = MeterDecoder(K02A)
        first = meter.enter("26456622012185850752")  # C7: 25.6 kWh
        assert (first.accepted, first.code, first.credit) == (True, "accepted", Decimal("25.6"))
        again = meter.enter("26456622012185850752")
        assert (again.accepted, again.code) == (False, "used")
        assert meter.credit(0) == Decimal("25.6")

    def test_it_rejects_tokens_older_than_the_oldest_remembered_once_full(self) -> None:
        meter = MeterDecoder(K02A, memory_size=3)
        assert meter.enter(credit(100)).accepted
        assert meter.enter(credit(50)).accepted  # memory not full: nothing forgotten yet
        assert meter.enter(credit(200)).accepted
        assert meter.enter(credit(300)).accepted  # drops 50
        assert meter.tids == [100, 200, 300]
        assert meter.enter(credit(99)).code == "old"
        assert meter.enter(credit(150)).code == "accepted"  # newer than the oldest: accepted
        assert meter.tids == [150, 200, 300]
        assert meter.enter(credit(120)).code == "old"

    def test_it_rejects_a_bad_crc_and_a_wrong_key(self) -> None:
        meter = MeterDecoder(K02A)
        assert meter.enter("26456622012185850753").code == "crc"
        other = credit(1000, key=dk("K02B"))
        assert meter.enter(other).code == "crc"
        assert meter.enter("1234").code == "format"

    def test_it_applies_a_key_change_in_either_order(self) -> None:
        kct1, kct2 = "51638423060042734509", "15361891762113502242"  # K281: K02A -> K02A_TI02
        for order in ((kct1, kct2), (kct2, kct1)):
            meter = MeterDecoder(K02A)
            assert meter.enter(order[0]).code == "key_change_incomplete"
            result = meter.enter(order[1])
            assert (result.accepted, result.code) == (True, "key_changed")
            assert f"{meter.decoder_key:016X}" == dk("K02A_TI02")
            assert (meter.tariff_index, meter.key_revision, meter.ken) == (2, 1, 255)
            assert meter.enter(credit(5000)).code == "crc"  # old key tokens now fail
            assert meter.enter(credit(5000, key=dk("K02A_TI02"))).code == "accepted"

    def test_it_keeps_the_tid_memory_without_rollover_and_clears_it_with(self) -> None:
        meter = MeterDecoder(K02A)
        token = credit(7000)
        assert meter.enter(token).accepted
        for t in api.key_change_tokens(K02A, K02A, key_revision=1, key_type=2, tariff_index=1):
            meter.enter(t.token)
        assert meter.enter(token).code == "used"
        for t in api.key_change_tokens(K02A, K02A, key_revision=1, key_type=2, tariff_index=1, rollover=True):
            meter.enter(t.token)
        assert meter.tids == []
        assert meter.enter(token).code == "accepted"

    def test_it_needs_the_third_token_when_announced(self) -> None:
        meter = MeterDecoder(int(dk("K04S"), 16), base_date=2014)
        tokens = api.key_change_tokens(
            dk("K04S"), dk("K04S_TI02"), key_revision=1, key_type=2, tariff_index=2,
            third_token=True, supply_group_code="201457",
        )  # fmt: skip
        assert meter.enter(tokens[1].token).code == "key_change_incomplete"
        assert meter.enter(tokens[0].token).code == "key_change_incomplete"
        assert meter.enter(tokens[2].token).code == "key_changed"
        assert meter.supply_group_code == 201457
        assert f"{meter.decoder_key:016X}" == dk("K04S_TI02")

    def test_it_rejects_tokens_beyond_the_key_expiry_number(self) -> None:
        meter = MeterDecoder(K02A, ken=85)
        assert meter.enter(credit(85 << 16 | 0xFFFF)).code == "accepted"
        assert meter.enter(credit(86 << 16)).code == "expired"

    def test_it_sets_ken_from_the_key_change_nibbles(self) -> None:
        meter = MeterDecoder(K02A)
        for t in api.key_change_tokens(
            K02A, K02A, key_revision=2, key_type=2, tariff_index=1, ken_high=5, ken_low=5
        ):
            meter.enter(t.token)
        assert (meter.ken, meter.key_revision) == (0x55, 2)
        assert meter.enter(credit(0x56 << 16)).code == "expired"

    def test_it_applies_management_tokens_and_checks_ranges(self) -> None:
        meter = MeterDecoder(K02A)
        meter.enter(credit(10, "5"))
        assert meter.enter("50901894209860263092").code == "accepted"  # M241 MPL 1000 W
        assert meter.max_power == 1000
        when = datetime(2004, 5, 1, 10, 0)
        clear = api.management_token(K02A, 1, 0xFFFF, issued_at=when, rnd=1).token
        assert meter.enter(clear).code == "accepted"
        assert meter.credit(0) == 0
        meter.tamper = True
        assert meter.enter(api.management_token(K02A, 5, 0, tid=20, rnd=1).token).code == "accepted"
        assert meter.tamper is False

    def test_it_refuses_credit_on_a_default_key(self) -> None:
        meter = MeterDecoder(K02A, key_type=1)
        assert meter.enter(credit(30)).code == "key_type"

    def test_it_checks_the_manufacturer_code_of_test_tokens(self) -> None:
        meter = MeterDecoder(K02A, manufacturer_code=7)
        assert meter.enter(api.test_token(0, 1, 7).token).code == "accepted"
        assert meter.enter(api.test_token(0, 1, 9).token).code == "mfr_code"

    def test_it_round_trips_its_state_through_a_dict(self) -> None:
        meter = MeterDecoder(K02A, ken=200)
        meter.enter(credit(40, "2.5"))
        meter.enter("51638423060042734509")
        restored = MeterDecoder.from_dict(meter.to_dict())
        assert restored.to_dict() == meter.to_dict()
        assert restored.enter("15361891762113502242").code == "key_changed"
        assert restored.credit(0) == Decimal("2.5")
        assert "E653341F9D5BF36F" not in repr(meter)
