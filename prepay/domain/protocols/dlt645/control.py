"""DL/T 645 control byte (C) and abnormal replies.

C = D7 direction (1 = reply from the meter) | D6 abnormal reply | D5 follow-up frame | D4..D0 function.
An abnormal reply carries the request's function with D7|D6 set and an error word (ERR).
"""

from __future__ import annotations

from enum import IntEnum

from prepay.domain.protocols.errors import MeterErrorReply, ProtocolError

from .frame import Frame

DIRECTION_BIT = 0x80
ERROR_BIT = 0x40
FOLLOW_UP_BIT = 0x20
FUNCTION_MASK = 0x1F


class Function2007(IntEnum):
    """DL/T 645-2007 function codes (D4..D0 of C)."""

    SECURITY = 0x03  # State Grid 费控 extension; needs an ESAM, not built here
    BROADCAST_TIME = 0x08
    READ = 0x11
    READ_FOLLOW_UP = 0x12
    READ_ADDRESS = 0x13
    WRITE = 0x14
    WRITE_ADDRESS = 0x15
    FREEZE = 0x16
    CHANGE_BAUD = 0x17
    CHANGE_PASSWORD = 0x18
    CLEAR_DEMAND = 0x19
    CLEAR_METER = 0x1A
    CLEAR_EVENTS = 0x1B
    REMOTE_CONTROL = 0x1C


class Function1997(IntEnum):
    """DL/T 645-1997 function codes."""

    READ = 0x01
    READ_FOLLOW_UP = 0x02
    REREAD = 0x03
    WRITE = 0x04
    BROADCAST_TIME = 0x08
    WRITE_ADDRESS = 0x0A
    CHANGE_BAUD = 0x0C
    CHANGE_PASSWORD = 0x0F
    CLEAR_DEMAND = 0x10


def function(control: int) -> int:
    """The function code D4..D0 of a control byte."""
    return control & FUNCTION_MASK


def is_reply(control: int) -> bool:
    """D7: the frame travels from the meter to the master."""
    return bool(control & DIRECTION_BIT)


def is_error(control: int) -> bool:
    """D6 on a reply: abnormal reply (the data field is the error word)."""
    return bool(control & DIRECTION_BIT) and bool(control & ERROR_BIT)


def has_follow_up(control: int) -> bool:
    """D5: more frames follow (e.g. 0xB1 = read reply, follow-up frames exist)."""
    return bool(control & FOLLOW_UP_BIT)


def reply_control(func: int, *, error: bool = False, follow_up: bool = False) -> int:
    """The control byte of a reply to ``func`` (0x91 normal, 0xD1 abnormal, 0xB1 with follow-up)."""
    c = DIRECTION_BIT | (func & FUNCTION_MASK)
    if error:
        c |= ERROR_BIT
    if follow_up:
        c |= FOLLOW_UP_BIT
    return c


#: Standard ERR bits of abnormal replies (DL/T 645-2007).
STANDARD_ERR_BITS: tuple[str, ...] = (
    "other",
    "no_requested_data",
    "unauthorized",
    "baud_rate_not_changeable",
    "too_many_year_zones",
    "too_many_day_slots",
    "too_many_rates",
)

#: State-Grid extended ERR bits of 0x1C (remote control) abnormal replies (Dl645B_Com.h).
REMOTE_CONTROL_ERR_BITS: tuple[str, ...] = (
    "meter_suspended",
    "mac_error",
    "unauthorized",
    "identity_auth_timeout",
    "deadline_invalid",
    "keep_power_active",
    "auto_recovery_error_6",
    "auto_recovery_error_7",
    "auto_recovery_error_8",
)


def error_flags(func: int, err: int) -> tuple[str, ...]:
    """Names of the set bits of ``err`` for function ``func``; unknown bits are named ``bit<N>``."""
    names = REMOTE_CONTROL_ERR_BITS if func == Function2007.REMOTE_CONTROL else STANDARD_ERR_BITS
    return tuple((names[bit] if bit < len(names) else f"bit{bit}") for bit in range(16) if err & (1 << bit))


def error_reply(frame: Frame) -> MeterErrorReply:
    """Decode an abnormal reply into a :class:`MeterErrorReply` (returned, not raised).

    ERR is one byte; two bytes (little-endian) are accepted for the 0x1C extended word, which has
    bits up to 8. Raises ProtocolError if the frame is not an abnormal reply or ERR has another length.
    """
    if not is_error(frame.control):
        raise ProtocolError("unexpected_control", f"C={frame.control:02X} is not an abnormal reply")
    if len(frame.data) not in (1, 2):
        raise ProtocolError("bad_length", f"abnormal reply with {len(frame.data)} ERR bytes")
    func = function(frame.control)
    err = int.from_bytes(frame.data, "little")
    flags = error_flags(func, err)
    return MeterErrorReply(
        func, err, flags, f"meter refused function {func:02X}: {', '.join(flags) or 'ERR=0'}"
    )


def raise_if_error(frame: Frame) -> None:
    """Raise :class:`MeterErrorReply` if ``frame`` is an abnormal reply."""
    if is_error(frame.control):
        raise error_reply(frame)
