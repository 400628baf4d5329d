"""EA09 (DEA, single DES) token encryption and the raw DES block primitive.

.. warning:: EA09 is **experimental**.  No public EA09 token vector exists (see the spec,
   §10); the implementation follows the natural reading of IEC 62055-41
   (``DES-ECB(key = decoder key, block = data block)``, both in natural big-endian order) and
   must not be claimed compliant until checked against an STS Association vector.

The DES primitive itself (used by DKGA02 as well) is ``cryptography``'s TripleDES with the
8-byte key repeated three times, which is exactly single DES.  Since ``cryptography`` 43 the
algorithm lives in ``cryptography.hazmat.decrepit``; older releases still export it from the
main ``algorithms`` module.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, modes

try:  # cryptography >= 43
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # pragma: no cover - older cryptography
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES  # type: ignore[no-redef,unused-ignore]

from .errors import InvalidInputError

MASK64 = (1 << 64) - 1


def _cipher(key: bytes) -> Any:
    if len(key) != 8:
        raise InvalidInputError("a DES key must be exactly 8 bytes")
    # ECB on exactly one block is what DKGA02 and EA09 specify (no chaining exists in STS).
    return Cipher(TripleDES(key * 3), modes.ECB())  # noqa: S305


def des_encrypt_block(key: bytes, block: int) -> int:
    """Encrypt one 64-bit block (big-endian int) with single DES under an 8-byte key."""
    enc = _cipher(key).encryptor()
    out: bytes = enc.update(block.to_bytes(8, "big")) + enc.finalize()
    return int.from_bytes(out, "big")


def des_decrypt_block(key: bytes, block: int) -> int:
    """Decrypt one 64-bit block (big-endian int) with single DES under an 8-byte key."""
    dec = _cipher(key).decryptor()
    out: bytes = dec.update(block.to_bytes(8, "big")) + dec.finalize()
    return int.from_bytes(out, "big")


class DeaCipher:
    """EA09 block cipher bound to one decoder key (EXPERIMENTAL, no public vector).

    The decoder key is used as the DES key in natural byte order.  ``repr()`` never shows it.
    """

    __slots__ = ("_dec", "_enc")

    def __init__(self, decoder_key: int) -> None:
        if not 0 <= decoder_key <= MASK64:
            raise InvalidInputError("decoder key must be a 64-bit value")
        cipher = _cipher(decoder_key.to_bytes(8, "big"))
        self._enc = cipher
        self._dec = cipher

    def __repr__(self) -> str:
        return "DeaCipher(<redacted>)"

    def encrypt(self, block: int) -> int:
        """EA09-encrypt a 64-bit data block (experimental)."""
        e = self._enc.encryptor()
        out: bytes = e.update(block.to_bytes(8, "big")) + e.finalize()
        return int.from_bytes(out, "big")

    def decrypt(self, block: int) -> int:
        """EA09-decrypt a 64-bit data block (experimental)."""
        d = self._dec.decryptor()
        out: bytes = d.update(block.to_bytes(8, "big")) + d.finalize()
        return int.from_bytes(out, "big")
