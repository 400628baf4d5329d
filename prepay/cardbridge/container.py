"""How a purchase image is stored in a card's memory.

::

    "PPC1" | length u16 (big-endian) | image (length bytes) | CRC-32 of the image u32

A card whose memory does not start with the magic is blank (or holds something else): it reads as
no purchase. A torn write (the card pulled out mid-write) fails the CRC and reads as unreadable, so a
half-written purchase is never taken for a whole one. The image itself is sealed by the server
(``prepay.domain.cards``); the container only frames it.
"""

from __future__ import annotations

import struct
import zlib

MAGIC = b"PPC1"
HEADER = len(MAGIC) + 2
TRAILER = 4
#: the largest image a card holds (SLE4442-class memory cards have 256 bytes; the images are ~40)
MAX_IMAGE = 1024


class ContainerError(ValueError):
    """The card's memory holds a purchase that cannot be read (a torn write, a bad length)."""


def wrap(image: bytes) -> bytes:
    """The bytes to write on the card for ``image``."""
    if not 1 <= len(image) <= MAX_IMAGE:
        raise ContainerError(f"an image must be 1 to {MAX_IMAGE} bytes, not {len(image)}")
    return MAGIC + struct.pack(">H", len(image)) + image + struct.pack(">I", zlib.crc32(image))


def size_of(header: bytes) -> int | None:
    """Total container size announced by the first :data:`HEADER` bytes; None for a blank card."""
    if len(header) < HEADER or header[: len(MAGIC)] != MAGIC:
        return None
    (length,) = struct.unpack(">H", header[len(MAGIC) : HEADER])
    if not 1 <= length <= MAX_IMAGE:
        raise ContainerError(f"the card announces an image of {length} bytes")
    return HEADER + length + TRAILER


def unwrap(data: bytes) -> bytes | None:
    """The image stored in ``data`` (the card's memory from its start); None for a blank card."""
    total = size_of(data[:HEADER])
    if total is None:
        return None
    if len(data) < total:
        raise ContainerError("the card's memory ends inside the image")
    image = data[HEADER : total - TRAILER]
    (crc,) = struct.unpack(">I", data[total - TRAILER : total])
    if zlib.crc32(image) != crc:
        raise ContainerError("the image on the card is damaged (CRC mismatch)")
    return bytes(image)
