"""Exception hierarchy of the STS engine.

Every exception carries a stable, snake_case ``code`` that machine interfaces (the JSON-lines
batch, the meter simulator, HTTP layers built on top) may rely on.  Messages are for humans and
may change.  Messages never contain key material: callers must not pass vending keys or decoder
keys into messages, and the engine itself only ever mentions key *parameters* (SGC, KRN, ...).
"""

from __future__ import annotations


class StsError(Exception):
    """Base class of all STS engine errors. ``code`` is stable; ``message`` is human text."""

    code: str = "sts_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, str]:
        """Return the ``{"code": ..., "message": ...}`` form used by the batch interface."""
        return {"code": self.code, "message": self.message}


class InvalidInputError(StsError, ValueError):
    """A caller-supplied value is malformed (bad hex, bad digits, wrong type, ...)."""

    code = "invalid_input"


class OutOfRangeError(InvalidInputError):
    """A value is well-formed but outside what the token field can carry."""

    code = "out_of_range"


class AmountTooLargeError(OutOfRangeError):
    """An amount exceeds the largest value the 16-bit amount field can represent."""

    code = "amount_too_large"


class InvalidTidError(OutOfRangeError):
    """An issue time falls before the base date or beyond the 24-bit TID range."""

    code = "tid_out_of_range"


class LuhnError(InvalidInputError):
    """A DRN/IAIN or meter PAN fails its Luhn check digit."""

    code = "luhn"


class TokenFormatError(InvalidInputError):
    """A token string is not 20 decimal digits or its value is not below 2**66."""

    code = "token_format"


class CrcError(StsError):
    """The token's CRC does not match: corrupted digits or a wrong decoder key."""

    code = "crc"


class UnsupportedTokenError(StsError):
    """The token class/subclass is recognised but not supported by this engine."""

    code = "unsupported_token"


class KeyExpiredError(StsError):
    """The token's TID lies beyond the key expiry number (``TID >> 16 > KEN``)."""

    code = "expired"


class UnsupportedAlgorithmError(InvalidInputError):
    """An unknown or unimplemented DKGA / encryption algorithm was requested."""

    code = "unsupported_algorithm"
