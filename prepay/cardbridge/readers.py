"""Card readers behind one small interface, and reading / writing a purchase image through it.

A :class:`Reader` reads and writes the card's memory by offset; :func:`read_image` and
:func:`write_image` put the purchase image in its container (:mod:`.container`) and check the write
by reading it back. Backends:

* :class:`SimulatedReader` — a card in memory (optionally kept in a file between runs): tests, the
  demo, training at a counter without hardware;
* ``prepay.cardbridge.pcsc.PcscReader`` — a real PC/SC reader through pyscard.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Protocol

from prepay.cardbridge.container import HEADER, ContainerError, size_of, unwrap, wrap


class ReaderError(Exception):
    """The reader could not do it. ``code``: no_reader, no_card, read_failed, write_failed,
    unreadable (a damaged purchase on the card), verify_failed (read-back differs), too_large."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Reader(Protocol):
    """What the bridge needs from a reader; every call may raise :class:`ReaderError`."""

    backend: str
    capacity: int

    def describe(self) -> dict[str, Any]:
        """``{"backend", "name", "card": bool}`` — never raises for a missing card."""
        ...

    def read(self, offset: int, length: int) -> bytes: ...

    def write(self, offset: int, data: bytes) -> None: ...


def read_image(reader: Reader) -> bytes | None:
    """The purchase image on the card in ``reader``; None for a blank card."""
    header = reader.read(0, HEADER)
    try:
        total = size_of(header)
        if total is None:
            return None
        if total > reader.capacity:
            raise ContainerError("the card announces more than it holds")
        return unwrap(header + reader.read(HEADER, total - HEADER))
    except ContainerError as exc:
        raise ReaderError("unreadable", str(exc)) from None


def write_image(reader: Reader, image: bytes) -> bytes:
    """Write ``image`` onto the card and read it back; returns what the card now holds."""
    try:
        data = wrap(image)
    except ContainerError as exc:
        raise ReaderError("too_large", str(exc)) from None
    if len(data) > reader.capacity:
        raise ReaderError(
            "too_large", f"the card holds {reader.capacity} bytes, the purchase needs {len(data)}"
        )
    reader.write(0, data)
    back = read_image(reader)
    if back != image:
        raise ReaderError("verify_failed", "the card does not read back what was written")
    return back


class SimulatedReader:
    """A reader with one card in it, held in memory (and in ``path`` when given, between runs).

    ``present=False`` is a reader without a card. The memory starts blank (zeros) when no file is
    given or the file does not exist yet. Thread-safe.
    """

    backend = "sim"

    def __init__(self, *, path: str | os.PathLike[str] | None = None, capacity: int = 256) -> None:
        self.capacity = capacity
        self.present = True
        self._path = Path(path) if path else None
        self._lock = threading.Lock()
        self._memory = bytearray(capacity)
        if self._path is not None and self._path.exists():
            stored = self._path.read_bytes()[:capacity]
            self._memory[: len(stored)] = stored

    def describe(self) -> dict[str, Any]:
        return {"backend": self.backend, "name": "Simulated reader", "card": self.present}

    def _check(self, offset: int, length: int) -> None:
        if not self.present:
            raise ReaderError("no_card", "no card in the simulated reader")
        if offset < 0 or length < 0 or offset + length > self.capacity:
            raise ReaderError("too_large", "outside the card's memory")

    def read(self, offset: int, length: int) -> bytes:
        with self._lock:
            self._check(offset, length)
            return bytes(self._memory[offset : offset + length])

    def write(self, offset: int, data: bytes) -> None:
        with self._lock:
            self._check(offset, len(data))
            self._memory[offset : offset + len(data)] = data
            if self._path is not None:
                self._path.write_bytes(bytes(self._memory))

    def insert(self, memory: bytes = b"") -> None:
        """Put a card in: ``memory`` from its start (a blank card by default)."""
        with self._lock:
            self._memory = bytearray(self.capacity)
            self._memory[: len(memory)] = memory[: self.capacity]
            self.present = True

    def remove(self) -> None:
        with self._lock:
            self.present = False
