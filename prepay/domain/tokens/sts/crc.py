"""CRC-16 of STS tokens (and CRC_C for currency tokens).

Algorithm: CRC-16/MODBUS — reflected polynomial 0xA001 (x^16+x^15+x^2+1), initial register
0xFFFF, no final XOR, bytes processed from the first.  The token CRC covers the 50-bit value
``class(2) ∥ upper 48 bits of the data block`` right-aligned in 7 big-endian bytes (so the
first byte holds only the class).  The 16-bit CRC *field* (block bits 0..15) is the final
register byte-swapped: low register byte in bits 8..15.  CRC_C (currency subclasses 4..7) is
the same over those 7 bytes followed by one extra byte ``0x01``.

Because a CRC over a fixed-length message is affine over GF(2), the hot path computes it as
the XOR of one precomputed table entry per byte position: 7 lookups instead of 56 bit steps.
"""

from __future__ import annotations

_POLY = 0xA001


def crc16_register(data: bytes) -> int:
    """Reference bitwise CRC-16/MODBUS register over ``data`` (not byte-swapped)."""
    reg = 0xFFFF
    for byte in data:
        reg ^= byte
        for _ in range(8):
            reg = (reg >> 1) ^ _POLY if reg & 1 else reg >> 1
    return reg


def swap16(reg: int) -> int:
    """Byte-swap a 16-bit register into the token's CRC field order."""
    return ((reg & 0xFF) << 8) | (reg >> 8)


def _position_tables(length: int) -> tuple[int, list[list[int]]]:
    zero = crc16_register(bytes(length))
    tables: list[list[int]] = []
    for pos in range(length):
        row = []
        for b in range(256):
            msg = bytearray(length)
            msg[pos] = b
            # Store the field-order (swapped) difference so the hot path needs no swap.
            row.append(swap16(crc16_register(bytes(msg)) ^ zero))
        tables.append(row)
    return swap16(zero), tables


_Z7, _T7 = _position_tables(7)
_Z8, _T8 = _position_tables(8)
_CRC_C_TAIL = _T8[7][1]
_A0, _A1, _A2, _A3, _A4, _A5, _A6 = _T7
_B0, _B1, _B2, _B3, _B4, _B5, _B6, _ = _T8


def crc_field(token_class: int, upper48: int) -> int:
    """CRC field (byte-swapped register) for ``class ∥ upper48`` (7 bytes)."""
    v = upper48
    return (
        _Z7
        ^ _A0[token_class & 3]
        ^ _A1[v >> 40]
        ^ _A2[(v >> 32) & 0xFF]
        ^ _A3[(v >> 24) & 0xFF]
        ^ _A4[(v >> 16) & 0xFF]
        ^ _A5[(v >> 8) & 0xFF]
        ^ _A6[v & 0xFF]
    )


def crc_c_field(token_class: int, upper48: int) -> int:
    """CRC_C field: as :func:`crc_field` with a trailing ``0x01`` byte (currency tokens)."""
    v = upper48
    return (
        _Z8
        ^ _CRC_C_TAIL
        ^ _B0[token_class & 3]
        ^ _B1[v >> 40]
        ^ _B2[(v >> 32) & 0xFF]
        ^ _B3[(v >> 24) & 0xFF]
        ^ _B4[(v >> 16) & 0xFF]
        ^ _B5[(v >> 8) & 0xFF]
        ^ _B6[v & 0xFF]
    )


def token_crc(token_class: int, upper48: int, *, currency: bool = False) -> int:
    """CRC field for a token: CRC_C when ``currency`` is true, plain CRC otherwise."""
    return crc_c_field(token_class, upper48) if currency else crc_field(token_class, upper48)
