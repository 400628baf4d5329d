"""OpenPAYGO adapter and the token-system registry (vectors O1..O79 of sts-vectors-dev.md)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from prepay.domain.tokens.base import StsTokenSystem, TokenSystem, get_token_system, token_system_names
from prepay.domain.tokens.openpaygo import OpenPaygoTokenSystem

from .vectors import OPENPAYGO, dk

DEVICES = {
    1: {"secret_key": "bc41ec9530f6dac86b1a29ab82edc5fb", "starting_code": 516959010, "count": 1},
    2: {"secret_key": "dac86b1a29ab82edc5fbbc41ec9530f6", "starting_code": 432435255, "count": 10},
}


class OpenPaygoVectorsTestCase:
    @pytest.mark.parametrize("row", OPENPAYGO, ids=[r["id"] for r in OPENPAYGO])
    def test_it_reproduces_the_official_vectors(self, row: dict[str, Any]) -> None:
        system = OpenPaygoTokenSystem()
        device = {**DEVICES[row["dev"]], "restricted_digit_set": row["rds"], "extended_token": row["ext"]}
        result = system.generate(device, row["type"].lower(), row["value"])
        assert (result.token, result.state["count"]) == (row["token"], row["new_count"])

    def test_it_decodes_a_credit_token_once(self) -> None:
        system = get_token_system("openpaygo")
        device = dict(DEVICES[1])
        made = system.credit_token(device, 5)
        assert made.token == "177073015"
        decoded = system.decode_token(device, made.token)
        assert (decoded.valid, decoded.kind, decoded.amount) == (True, "add_time", Decimal(5))
        device.update(decoded.state)
        assert system.decode_token(device, made.token).code == "used"
        assert system.decode_token(device, "123456789").valid is False


class RegistryTestCase:
    def test_it_knows_both_systems(self) -> None:
        assert token_system_names() == ["openpaygo", "sts"]
        assert isinstance(get_token_system("sts"), StsTokenSystem)
        assert isinstance(get_token_system("openpaygo"), TokenSystem)
        with pytest.raises(KeyError):
            get_token_system("nope")

    def test_it_makes_and_decodes_sts_credit_through_the_interface(self) -> None:
        system = get_token_system("sts")
        device = {"decoder_key": dk("K02A"), "base_date": 1993}
        made = system.credit_token(device, "25.6", issued_at=datetime(2004, 4, 1, 0, 30))
        assert made.display.replace(" ", "") == made.token
        decoded = system.decode_token(device, made.token)
        assert (decoded.valid, decoded.kind, decoded.amount) == (True, "electricity_credit", Decimal("25.6"))
        assert system.decode_token({"decoder_key": dk("K02B")}, made.token).code == "crc"
