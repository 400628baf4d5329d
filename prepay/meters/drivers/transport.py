"""Byte transports for DL/T 645 and CJ/T 188: a TCP client to a DTU / gateway, and DTUs dialling in.

A :class:`Link` is one byte stream shared by every meter on the bus behind it. It serialises
requests (one outstanding request per bus: RS-485 is half-duplex and DTUs are transparent), applies
a reply timeout, retries, and resynchronises the frame reader after a silence (a late reply to a
timed-out request must never be taken for the answer to the next one).

* :class:`TcpLink` connects out to ``host:port`` (a DTU in server mode, an Ethernet gateway), and
  reconnects when the connection drops.
* DTUs that connect in are accepted by :class:`~prepay.meters.drivers.dialin.DialInServer`.

Every link holds at most a bounded number of bytes: a frame larger than its protocol's limit (or a
length byte announcing one), or more than ``max_buffer`` bytes without the answer, closes the
connection (``protocol`` error) and logs one line; the next request connects again.
The stream's own buffer holds at most twice ``max_buffer`` before the socket is paused.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from prepay.domain.protocols.errors import ProtocolError
from prepay.meters.drivers.base import DriverError
from prepay.meters.drivers.limits import FrameSpec, LogThrottle, frame_violation

F = TypeVar("F")

_throttle = LogThrottle()


class FrameReaderLike(Protocol[F]):
    def feed(self, data: bytes) -> list[F]: ...

    def reset(self) -> None: ...

    def pending(self) -> bytes: ...


class WireLimitError(Exception):
    """A peer broke a wire limit; ``reason`` says which (no payload bytes)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class Link(Generic[F]):
    """A shared byte stream with one outstanding request at a time.

    ``spec`` bounds the frames accepted (None: only ``max_buffer`` applies); ``max_buffer`` bounds the
    bytes taken in while waiting for one answer.
    """

    def __init__(
        self,
        reader_factory: Callable[[], FrameReaderLike[F]],
        *,
        timeout: float = 2.0,
        retries: int = 1,
        name: str = "",
        spec: FrameSpec | None = None,
        max_buffer: int = 4096,
    ) -> None:
        self.reader_factory = reader_factory
        self.timeout = timeout
        self.retries = retries
        self.name = name
        self.spec = spec
        self.max_buffer = max_buffer
        self.lock = asyncio.Lock()
        self._frames: FrameReaderLike[F] = reader_factory()
        self._pending: list[F] = []
        self._r: asyncio.StreamReader | None = None
        self._w: asyncio.StreamWriter | None = None

    async def _ensure(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        raise NotImplementedError

    def _drop(self) -> None:
        if self._w is not None:
            self._w.close()
        self._r = self._w = None

    async def close(self) -> None:
        async with self.lock:
            w = self._w
            self._drop()
            if w is not None:
                with contextlib.suppress(Exception):
                    await w.wait_closed()

    async def request(
        self,
        data: bytes,
        accept: Callable[[F], bool] | None = None,
        *,
        expect_reply: bool = True,
        command: bool = False,
    ) -> F | None:
        """Send ``data``; return the first frame ``accept`` takes (any frame when ``accept`` is None).

        Frames ``accept`` rejects (e.g. echoes of requests on a bus) are skipped. Retries on timeout
        and on a dropped connection; raises :class:`DriverError` (``timeout`` / ``connect``, or
        ``protocol`` when the peer broke a wire limit — the connection is then closed, not retried).
        ``command``: the request changes the meter (credit, relay, clock); links whose peer is not
        trusted yet refuse it with ``disputed`` before sending anything.
        """
        async with self.lock:
            last: DriverError | None = None
            for _attempt in range(self.retries + 1):
                try:
                    reader, writer = await self._ensure()
                except DriverError as exc:
                    last = exc
                    continue
                # drop whatever arrived between requests (late replies, heartbeats)
                self._frames.reset()
                self._pending.clear()
                try:
                    writer.write(data)
                    await writer.drain()
                    if not expect_reply:
                        return None
                    return await asyncio.wait_for(self._read_until(reader, accept), self.timeout)
                except TimeoutError:
                    last = DriverError("timeout", f"{self.name}: no reply within {self.timeout}s")
                except WireLimitError as exc:
                    self._drop()
                    _throttle.warning(f"link:{self.name}", "link %s: closed: %s", self.name, exc.reason)
                    raise DriverError("protocol", f"{self.name}: {exc.reason}; connection closed") from None
                except (ConnectionError, OSError, asyncio.IncompleteReadError) as exc:
                    self._drop()
                    last = DriverError("connect", f"{self.name}: connection lost ({exc})")
            assert last is not None
            raise last

    async def _read_until(self, reader: asyncio.StreamReader, accept: Callable[[F], bool] | None) -> F:
        # No count of the bytes received here: the stream may still hold bytes from before the request
        # (bounded by its limit); an endless stream of noise ends at the reply timeout.
        while True:
            while self._pending:
                frame = self._pending.pop(0)
                if accept is None or accept(frame):
                    return frame
            chunk = await reader.read(self.max_buffer + 1)
            if not chunk:
                raise ConnectionResetError("closed by peer")
            frames = self._frames.feed(chunk)
            self.check(frames)
            self._pending.extend(frames)

    def check(self, frames: list[F], received: int = 0) -> None:
        """Raise :class:`WireLimitError` when the stream broke the frame or buffer limit.

        ``received``: bytes taken in while waiting for the current answer, when the caller knows it.
        """
        if self.spec is not None:
            reason = frame_violation(self.spec, self._frames.pending(), frames, received, self.max_buffer)
        elif received > self.max_buffer or len(self._frames.pending()) > self.max_buffer:
            reason = f"{received} bytes without the answer (limit {self.max_buffer})"
        else:
            reason = ""
        if reason:
            self._frames.reset()
            self._pending.clear()
            raise WireLimitError(reason)


class TcpLink(Link[F]):
    """Connects out to ``host:port`` (lazily, and again after a drop)."""

    def __init__(self, host: str, port: int, reader_factory: Callable[[], FrameReaderLike[F]], **kw: Any):
        super().__init__(reader_factory, name=f"{host}:{port}", **kw)
        self.host, self.port = host, port

    async def _ensure(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._r is None or self._w is None or self._w.is_closing():
            try:
                # the stream's own buffer pauses the socket at twice its limit
                r, w = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port, limit=self.max_buffer), self.timeout
                )
            except (TimeoutError, OSError) as exc:
                self._drop()
                raise DriverError("connect", f"cannot connect to {self.name}: {exc}") from None
            self._r, self._w = r, w
            return r, w
        return self._r, self._w


def protocol_error(exc: ProtocolError) -> DriverError:
    """Wrap a codec error: the reply was malformed or from another meter; nothing was changed."""
    return DriverError("protocol", exc.message, cause=exc)
