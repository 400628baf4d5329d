"""EA07 — the Standard Transfer Algorithm (STA) with the production tables.

Encryption of a 64-bit block D under decoder key K (both ints in natural order):
``k = rotr64(~K, 12)``; 16 rounds of (substitute each nibble i with S1 when bit 4i+3 of k is 0,
else S2; move every bit j to bit P[j]; ``k = rotl64(k, 1)``).  Decryption runs the rounds
backwards with the inverse tables.

Speed: a substitution followed by a bit permutation is linear per input byte, so each round is
8 lookups in precomputed tables ``table[byte position][2 selector bits][byte value]`` that
already hold the substituted-and-permuted 64-bit contribution of that byte.  Per decoder key
the table choice for all 16 rounds is resolved once (:class:`StaCipher`) and reused.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from .errors import InvalidInputError

MASK64 = (1 << 64) - 1

S1 = (14, 10, 7, 9, 12, 3, 2, 5, 13, 0, 15, 1, 4, 8, 6, 11)
S2 = (12, 8, 2, 13, 7, 6, 1, 3, 11, 5, 9, 15, 0, 4, 10, 14)
S1_INV = (9, 11, 6, 5, 12, 7, 14, 2, 13, 3, 1, 15, 4, 8, 0, 10)
S2_INV = (12, 6, 2, 7, 13, 9, 5, 4, 1, 10, 14, 8, 0, 3, 15, 11)
P = (
    55, 42, 10, 18, 24, 21, 44, 35, 2, 22, 56, 43, 27, 58, 9, 50,
    6, 36, 12, 61, 37, 38, 53, 16, 62, 3, 7, 4, 32, 20, 63, 25,
    51, 52, 54, 33, 49, 19, 46, 29, 48, 31, 23, 30, 41, 28, 13, 5,
    40, 60, 39, 11, 15, 17, 1, 0, 57, 34, 59, 8, 47, 14, 45, 26,
)  # fmt: skip
P_INV = tuple(P.index(j) for j in range(64))

Table = tuple[int, ...]


def _rotl(x: int, n: int) -> int:
    return ((x << n) | (x >> (64 - n))) & MASK64


def _rotr(x: int, n: int) -> int:
    return ((x >> n) | (x << (64 - n))) & MASK64


def _scatter(value: int, shift: int, perm: tuple[int, ...]) -> int:
    """Move bit i of ``value`` (placed at bit ``shift + i``) to bit ``perm[shift + i]``."""
    out = 0
    i = 0
    while value:
        if value & 1:
            out |= 1 << perm[shift + i]
        value >>= 1
        i += 1
    return out


def _build(
    lo_tables: tuple[Table, Table], hi_tables: tuple[Table, Table], perm: tuple[int, ...] | None
) -> tuple[tuple[Table, ...], ...]:
    """tables[pos][sel][byte] = perm(substituted byte placed at byte position pos)."""
    out = []
    for pos in range(8):
        per_sel = []
        for sel in range(4):
            s_lo = lo_tables[sel & 1]
            s_hi = hi_tables[sel >> 1]
            row = []
            for b in range(256):
                sub = s_lo[b & 15] | (s_hi[b >> 4] << 4)
                row.append(_scatter(sub, 8 * pos, perm) if perm is not None else sub << (8 * pos))
            per_sel.append(tuple(row))
        out.append(tuple(per_sel))
    return tuple(out)


_ENC = _build((S1, S2), (S1, S2), P)
# Decryption round: inverse substitution, then (for all but the last round) the inverse
# permutation that starts the next round, so that every round is again 8 byte lookups.
_DEC_SUB_PERM = _build((S1_INV, S2_INV), (S1_INV, S2_INV), P_INV)
_DEC_SUB = _build((S1_INV, S2_INV), (S1_INV, S2_INV), None)
_IDENT = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
_PINV_ONLY = _build((_IDENT, _IDENT), (_IDENT, _IDENT), P_INV)


def _unrolled_factory() -> Callable[..., Callable[[int], int]]:
    """Compile (once, from a fixed template) a factory of fully unrolled 16-round encryptors.

    Binding the 128 round tables as closure variables removes the per-round tuple unpacking
    and loop overhead of :meth:`StaCipher.encrypt` (~10-15 % faster in CPython).
    """
    names = [f"t{r}_{p}" for r in range(16) for p in range(8)]
    lines = [f"def make({', '.join(names)}):", "    def encrypt(d):"]
    for r in range(16):
        parts = [f"t{r}_0[d & 255]"]
        parts += [f"t{r}_{p}[(d >> {8 * p}) & 255]" for p in range(1, 7)]
        parts.append(f"t{r}_7[d >> 56]")
        lines.append("        d = " + " | ".join(parts))
    lines += ["        return d", "    return encrypt"]
    namespace: dict[str, Any] = {}
    exec("\n".join(lines), namespace)  # noqa: S102 - fixed template, no external input
    factory: Callable[..., Callable[[int], int]] = namespace["make"]
    return factory


_MAKE_ENCRYPT = _unrolled_factory()


def _selectors(k: int) -> list[int]:
    """For each byte position the 2 selector bits: bit 4i+3 of k for its two nibbles."""
    return [((k >> (8 * pos + 3)) & 1) | (((k >> (8 * pos + 7)) & 1) << 1) for pos in range(8)]


def _round_keys(decoder_key: int) -> list[int]:
    k = _rotr(~decoder_key & MASK64, 12)
    keys = []
    for _ in range(16):
        keys.append(k)
        k = _rotl(k, 1)
    return keys


class StaCipher:
    """EA07 cipher bound to one decoder key; construction precomputes the round tables.

    ``repr()`` never shows the key.  Instances are immutable and safe to share between threads.
    """

    __slots__ = ("_dec_first", "_dec_last", "_dec_rounds", "_enc_rounds", "encrypt")

    def __init__(self, decoder_key: int) -> None:
        if (
            isinstance(decoder_key, bool)
            or not isinstance(decoder_key, int)
            or not 0 <= decoder_key <= MASK64
        ):
            raise InvalidInputError("decoder key must be a 64-bit value")
        keys = _round_keys(decoder_key)
        self._enc_rounds = tuple(tuple(_ENC[pos][sel] for pos, sel in enumerate(_selectors(k))) for k in keys)
        # Instance attribute shadows the loop version below with the unrolled closure.
        self.encrypt: Callable[[int], int] = _MAKE_ENCRYPT(*[t for rnd in self._enc_rounds for t in rnd])
        rev = keys[::-1]
        self._dec_first = tuple(_PINV_ONLY[pos][0] for pos in range(8))
        self._dec_rounds = tuple(
            tuple(_DEC_SUB_PERM[pos][sel] for pos, sel in enumerate(_selectors(k))) for k in rev[:-1]
        )
        self._dec_last = tuple(_DEC_SUB[pos][sel] for pos, sel in enumerate(_selectors(rev[-1])))

    def __repr__(self) -> str:
        return "StaCipher(<redacted>)"

    def encrypt_loop(self, d: int) -> int:
        """Encrypt one 64-bit block (loop form; ``encrypt`` is the unrolled equivalent)."""
        for t0, t1, t2, t3, t4, t5, t6, t7 in self._enc_rounds:
            d = (
                t0[d & 255]
                | t1[(d >> 8) & 255]
                | t2[(d >> 16) & 255]
                | t3[(d >> 24) & 255]
                | t4[(d >> 32) & 255]
                | t5[(d >> 40) & 255]
                | t6[(d >> 48) & 255]
                | t7[d >> 56]
            )
        return d

    def decrypt(self, d: int) -> int:
        """Decrypt one 64-bit block."""
        t0, t1, t2, t3, t4, t5, t6, t7 = self._dec_first
        d = (
            t0[d & 255]
            | t1[(d >> 8) & 255]
            | t2[(d >> 16) & 255]
            | t3[(d >> 24) & 255]
            | t4[(d >> 32) & 255]
            | t5[(d >> 40) & 255]
            | t6[(d >> 48) & 255]
            | t7[d >> 56]
        )
        for t0, t1, t2, t3, t4, t5, t6, t7 in (*self._dec_rounds, self._dec_last):
            d = (
                t0[d & 255]
                | t1[(d >> 8) & 255]
                | t2[(d >> 16) & 255]
                | t3[(d >> 24) & 255]
                | t4[(d >> 32) & 255]
                | t5[(d >> 40) & 255]
                | t6[(d >> 48) & 255]
                | t7[d >> 56]
            )
        return d


@lru_cache(maxsize=1024)
def sta_cipher(decoder_key: int) -> StaCipher:
    """Cached :class:`StaCipher` per decoder key (cheap repeated use of one key)."""
    return StaCipher(decoder_key)


def sta_encrypt_reference(block: int, decoder_key: int) -> int:
    """Straightforward bit-by-bit EA07 encryption (slow; used to cross-check the fast path)."""
    k = _rotr(~decoder_key & MASK64, 12)
    d = block
    for _ in range(16):
        sub = 0
        for i in range(16):
            nib = (d >> (4 * i)) & 15
            box = S2 if (k >> (4 * i + 3)) & 1 else S1
            sub |= box[nib] << (4 * i)
        d = _scatter(sub, 0, P)
        k = _rotl(k, 1)
    return d


def sta_decrypt_reference(block: int, decoder_key: int) -> int:
    """Bit-by-bit EA07 decryption as the spec states it (slow reference)."""
    k = _rotl(~decoder_key & MASK64, 3)
    d = block
    for _ in range(16):
        d = _scatter(d, 0, P_INV)
        sub = 0
        for i in range(16):
            nib = (d >> (4 * i)) & 15
            box = S2_INV if (k >> (4 * i + 3)) & 1 else S1_INV
            sub |= box[nib] << (4 * i)
        d = sub
        k = _rotr(k, 1)
    return d
