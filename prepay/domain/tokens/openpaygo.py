"""OpenPAYGO Token adapter (PyPI ``openpaygo``, tested with 0.6.3).

Device mapping: ``secret_key`` (32 hex digits), ``starting_code`` (int, optional: derived from
the key when absent), ``count`` (last count used, vending side / last accepted, device side),
``used_counts`` (device side, optional), ``value_divider`` (default 1),
``restricted_digit_set`` (keypads with keys 1-4, default False), ``extended_token`` (default
False).  A credit ``amount`` is the activation value in days (times ``value_divider``).

Known upstream issues (spec notes): extended tokens differ from the legacy library (#21),
DISABLE/COUNTER_SYNC decoded as SET_TIME in extended mode (#24); the decoder reads
``used_counts`` without a default, so this adapter always passes a list.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from openpaygo import OpenPAYGOTokenDecoder, OpenPAYGOTokenEncoder, TokenType

from .base import CreditResult, DecodeResult, TokenSystem

TOKEN_TYPES = {
    "add_time": TokenType.ADD_TIME,
    "set_time": TokenType.SET_TIME,
    "disable_payg": TokenType.DISABLE_PAYG,
    "counter_sync": TokenType.COUNTER_SYNC,
}
_TYPE_NAMES = {v: k for k, v in TOKEN_TYPES.items()}


class OpenPaygoTokenSystem(TokenSystem):
    """OpenPAYGO Token system (ADD_TIME credit; other token types via :meth:`generate`)."""

    name = "openpaygo"

    def generate(
        self, device: Mapping[str, Any], token_type: str, value: Decimal | int | None = None
    ) -> CreditResult:
        """Generate any token type; ``state["count"]`` is the new count to persist."""
        if token_type not in TOKEN_TYPES:
            raise ValueError(f"unknown OpenPAYGO token type {token_type!r}")
        numeric: int | float | None = None
        if value is not None:
            if isinstance(value, float):
                raise ValueError("value must be an int or Decimal, not float")
            numeric = int(value) if Decimal(value) == int(value) else float(value)
        new_count, token = OpenPAYGOTokenEncoder.generate_token(
            secret_key=str(device["secret_key"]),
            count=int(device.get("count", 0)),
            value=numeric,
            token_type=TOKEN_TYPES[token_type],
            starting_code=device.get("starting_code"),
            value_divider=int(device.get("value_divider", 1)),
            restricted_digit_set=bool(device.get("restricted_digit_set", False)),
            extended_token=bool(device.get("extended_token", False)),
        )
        token = str(token)
        display = " ".join(token[i : i + 3] for i in range(0, len(token), 3))
        return CreditResult(token, display, {"count": int(new_count)})

    def credit_token(
        self, device: Mapping[str, Any], amount: Decimal | int | str, *, issued_at: datetime | None = None
    ) -> CreditResult:
        """ADD_TIME token for ``amount`` days; ``issued_at`` is not used by OpenPAYGO."""
        value = Decimal(str(amount))
        if value < 0:
            raise ValueError("amount must not be negative")
        return self.generate(device, "add_time", value)

    def decode_token(self, device: Mapping[str, Any], token: str) -> DecodeResult:
        text = token.replace(" ", "")
        try:
            value, token_type, count, used = OpenPAYGOTokenDecoder.decode_token(
                token=text,
                secret_key=str(device["secret_key"]),
                count=int(device.get("count", 0)),
                used_counts=list(device.get("used_counts") or []),
                starting_code=device.get("starting_code"),
                value_divider=int(device.get("value_divider", 1)),
                restricted_digit_set=bool(device.get("restricted_digit_set", False)),
            )
        except ValueError:
            return DecodeResult(False, "format")
        if token_type == TokenType.ALREADY_USED:
            return DecodeResult(False, "used")
        if token_type not in _TYPE_NAMES or count is None:
            return DecodeResult(False, "invalid")
        amount = None
        if value is not None and token_type in (TokenType.ADD_TIME, TokenType.SET_TIME):
            amount = Decimal(int(value)) if float(value).is_integer() else Decimal(str(value))
        if used is None:  # the library returns None when no counts were recorded before
            used = sorted({*(device.get("used_counts") or []), int(count)})
        state = {"count": max(int(count), int(device.get("count", 0))), "used_counts": list(used)}
        return DecodeResult(True, "accepted", _TYPE_NAMES[token_type], amount, {"count": count}, state)
