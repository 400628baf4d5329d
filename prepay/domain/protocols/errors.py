"""Errors raised by the meter protocol codecs.

Contract: every decode / parse function and every stream reader in :mod:`prepay.domain.protocols`
raises :class:`ProtocolError` (or a subclass) for bad input, and nothing else. Builders raise
:class:`EncodeError` for arguments that cannot be put on the wire; it is both a ``ProtocolError`` and
a ``ValueError`` so callers may catch either.

``code`` is stable and machine-readable (the web layer translates it); ``str()`` is English for logs.
"""

from __future__ import annotations

from typing import Any

#: Every ``code`` a codec may use (documented in docs/protocols.md).
CODES = frozenset(
    {
        "truncated",  # input ended before the frame / field was complete
        "bad_start",  # 0x68 start byte(s) missing
        "bad_end",  # 0x16 end byte missing
        "checksum",  # sum checksum mismatch
        "trailing",  # bytes after a complete frame where exactly one frame was expected
        "bad_length",  # length byte / field length inconsistent with what the item needs
        "bcd",  # a nibble above 9 where BCD was required
        "bad_address",  # address neither BCD nor wildcard (0xAA)
        "address_mismatch",  # reply from another meter than the one asked
        "unexpected_control",  # control code / function is not the one this parser handles
        "unknown_di",  # data identifier not in the registry
        "di_mismatch",  # reply carries another DI than the one asked for
        "bad_value",  # field decodes but is out of range (month 13, NaN float, …)
        "error_reply",  # the meter answered with an abnormal reply (see MeterErrorReply)
        "encode",  # a builder argument cannot be encoded (EncodeError)
        "bad_map",  # a Modbus register map data file is invalid (MapError)
        "bad_topic",  # MQTT topic does not match a known scheme
        "bad_json",  # MQTT payload is not valid JSON (or not UTF-8, too large, too deep)
        "missing_field",  # MQTT payload lacks a required field
        "bad_type",  # MQTT payload field has the wrong JSON type
        "unsupported",  # well-formed but not supported here (compressed / encrypted MQTT payloads)
    }
)


class ProtocolError(Exception):
    """Bad or unexpected bytes / payload. ``code`` is one of :data:`CODES`."""

    def __init__(self, code: str, message: str, **params: Any) -> None:
        assert code in CODES, code  # programming error, not input error
        self.code = code
        self.message = message
        self.params = params
        super().__init__(f"{code}: {message}")


class EncodeError(ProtocolError, ValueError):
    """A builder / encoder argument cannot be represented on the wire (range, digits, type)."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__("encode", message, **params)


class MapError(ProtocolError, ValueError):
    """A Modbus register map data file is invalid."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__("bad_map", message, **params)


class MeterErrorReply(ProtocolError):
    """The meter answered with an abnormal reply.

    ``function`` is the request's function code, ``err`` the raw error word, ``flags`` the names of
    the set bits (see :func:`prepay.domain.protocols.dlt645.error_flags`).
    """

    def __init__(self, function: int, err: int, flags: tuple[str, ...], message: str) -> None:
        self.function = function
        self.err = err
        self.flags = flags
        super().__init__("error_reply", message, function=function, err=err, flags=flags)
