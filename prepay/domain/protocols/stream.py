"""Stream decoding with resynchronisation, shared by the framed protocols (DL/T 645 and CJ/T 188).

Both put a 0x68 start byte in front of a self-delimiting frame. A reader gets bytes as they arrive
(serial line, TCP, a DTU pass-through) and returns whole frames; noise, preambles and frames with a
bad checksum are skipped and counted, never raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from prepay.domain.protocols.errors import ProtocolError

F = TypeVar("F")
START = 0x68


class StreamReader(Generic[F]):
    """Incremental decoder: ``feed`` returns the frames completed by the new bytes.

    ``parse_at(buf, i)`` decodes the frame starting at ``buf[i]`` and returns it with the index just
    after it, or raises :class:`ProtocolError` (code ``truncated`` when more bytes are needed).
    A truncated frame is waited for unless a complete valid frame already follows it (a half frame,
    then a whole one): then the half frame is dropped. Transports should call :meth:`reset` after a
    silence longer than their reply timeout, so a stray 0x68 can never hold the stream back.
    ``discarded`` counts skipped bytes, ``rejected`` skipped frame candidates.
    """

    def __init__(self, parse_at: Callable[[bytearray, int], tuple[F, int]], start: int = START) -> None:
        self._parse_at = parse_at
        self._start = start
        self._buf = bytearray()
        self.discarded = 0
        self.rejected = 0

    def feed(self, data: bytes) -> list[F]:
        self._buf += data
        return list(self._drain())

    def pending(self) -> bytes:
        """Bytes held back waiting for the rest of a frame."""
        return bytes(self._buf)

    def reset(self) -> None:
        self._buf.clear()

    def _later_frame(self) -> int | None:
        """Index of the first complete valid frame after position 0, if any."""
        buf = self._buf
        j = buf.find(self._start, 1)
        while j >= 0:
            try:
                self._parse_at(buf, j)
            except ProtocolError:
                j = buf.find(self._start, j + 1)
                continue
            return j
        return None

    def _drain(self) -> Iterator[F]:
        buf = self._buf
        while buf:
            start = buf.find(self._start)
            if start < 0:
                self.discarded += len(buf)
                buf.clear()
                return
            if start:
                self.discarded += start
                del buf[:start]
            try:
                frame, end = self._parse_at(buf, 0)
            except ProtocolError as e:
                if e.code == "truncated":
                    later = self._later_frame()
                    if later is None:
                        return
                    self.rejected += 1
                    self.discarded += later
                    del buf[:later]
                    continue
                # a 0x68 that does not open a frame is noise, not a rejected frame
                self.rejected += e.code != "bad_start"
                self.discarded += 1
                del buf[:1]
                continue
            del buf[:end]
            yield frame
