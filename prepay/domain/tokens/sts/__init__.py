"""Pure-Python STS (IEC 62055-41) prepaid token engine: EA07 (STA), EA09 (experimental),
DKGA02/DKGA04 decoder keys, token classes 0, 1 and 2, a meter-side decoder and a JSON-lines
batch interface.  The stable facade is :mod:`.api`; everything it exports is re-exported here.

Licensing note: the STS algorithms and compliance data belong to the STS Association; treat
this engine as a test/simulation engine unless licensing is sorted out.
"""

from __future__ import annotations

from .api import (
    BlockCipher,
    CreditRequest,
    IssuedToken,
    KeyLike,
    cipher_for,
    credit_token,
    credit_tokens,
    credit_tokens_same,
    decode,
    decoder_key,
    encode_token,
    key_change_tokens,
    key_parameters,
    key_value,
    management_token,
    resolve_tid,
    test_token,
)
from .errors import CrcError, InvalidInputError, KeyExpiredError, OutOfRangeError, StsError
from .keys import DecoderKey, KeyParameters
from .meter import MeterDecoder, MeterResult

__all__ = [
    "BlockCipher",
    "CrcError",
    "CreditRequest",
    "DecoderKey",
    "InvalidInputError",
    "IssuedToken",
    "KeyExpiredError",
    "KeyLike",
    "KeyParameters",
    "MeterDecoder",
    "MeterResult",
    "OutOfRangeError",
    "StsError",
    "cipher_for",
    "credit_token",
    "credit_tokens",
    "credit_tokens_same",
    "decode",
    "decoder_key",
    "encode_token",
    "key_change_tokens",
    "key_parameters",
    "key_value",
    "management_token",
    "resolve_tid",
    "test_token",
]
