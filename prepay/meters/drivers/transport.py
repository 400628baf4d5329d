"""Byte transports for DL/T 645 and CJ/T 188: a TCP client to a DTU / gateway, and DTUs dialling in.

A :class:`Link` is one byte stream shared by every meter on the bus behind it. It serialises
requests (one outstanding request per bus: RS-485 is half-duplex and DTUs are transparent), applies
a reply timeout, retries, and resynchronises the frame reader after a silence (a late reply to a
timed-out request must never be taken for the answer to the next one).

* :class:`TcpLink` connects out to ``host:port`` (a DTU in server mode, an Ethernet gateway), and
  reconnects when the connection drops.
* :class:`DialInServer` listens for DTUs that connect in to the platform (4G DTUs usually do). A
  DTU first sends its registration packet — its id, ASCII, ended by ``\\n`` — then carries frames
  transparently; heartbeats in between are skipped by the frame readers as noise.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from prepay.domain.protocols.errors import ProtocolError
from prepay.meters.drivers.base import DriverError

F = TypeVar("F")


class FrameReaderLike(Protocol[F]):
    def feed(self, data: bytes) -> list[F]: ...

    def reset(self) -> None: ...


class Link(Generic[F]):
    """A shared byte stream with one outstanding request at a time."""

    def __init__(
        self,
        reader_factory: Callable[[], FrameReaderLike[F]],
        *,
        timeout: float = 2.0,
        retries: int = 1,
        name: str = "",
    ) -> None:
        self.reader_factory = reader_factory
        self.timeout = timeout
        self.retries = retries
        self.name = name
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
        self, data: bytes, accept: Callable[[F], bool] | None = None, *, expect_reply: bool = True
    ) -> F | None:
        """Send ``data``; return the first frame ``accept`` takes (any frame when ``accept`` is None).

        Frames ``accept`` rejects (e.g. echoes of requests on a bus) are skipped. Retries on timeout
        and on a dropped connection; raises :class:`DriverError` (``timeout`` / ``connect``).
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
                except (ConnectionError, OSError, asyncio.IncompleteReadError) as exc:
                    self._drop()
                    last = DriverError("connect", f"{self.name}: connection lost ({exc})")
            assert last is not None
            raise last

    async def _read_until(self, reader: asyncio.StreamReader, accept: Callable[[F], bool] | None) -> F:
        while True:
            while self._pending:
                frame = self._pending.pop(0)
                if accept is None or accept(frame):
                    return frame
            chunk = await reader.read(4096)
            if not chunk:
                raise ConnectionResetError("closed by peer")
            self._pending.extend(self._frames.feed(chunk))


class TcpLink(Link[F]):
    """Connects out to ``host:port`` (lazily, and again after a drop)."""

    def __init__(self, host: str, port: int, reader_factory: Callable[[], FrameReaderLike[F]], **kw: Any):
        super().__init__(reader_factory, name=f"{host}:{port}", **kw)
        self.host, self.port = host, port

    async def _ensure(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._r is None or self._w is None or self._w.is_closing():
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout)
            except (TimeoutError, OSError) as exc:
                self._drop()
                raise DriverError("connect", f"cannot connect to {self.name}: {exc}") from None
            self._r, self._w = r, w
            return r, w
        return self._r, self._w


class DialInLink(Link[F]):
    """The byte stream of a DTU that dialled in; replaced when the DTU reconnects."""

    def attach(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._drop()
        self._r, self._w = reader, writer
        self._frames.reset()

    @property
    def connected(self) -> bool:
        return self._w is not None and not self._w.is_closing()

    async def _ensure(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._r is None or self._w is None or self._w.is_closing():
            raise DriverError("connect", f"DTU {self.name} is not connected")
        return self._r, self._w


class DialInServer:
    """Listens for DTUs. ``link(dtu_id, reader_factory)`` gives the (possibly not yet connected) link."""

    def __init__(self, host: str, port: int, *, timeout: float = 2.0, retries: int = 1) -> None:
        self.host, self.port = host, port
        self.timeout, self.retries = timeout, retries
        self.links: dict[str, DialInLink[Any]] = {}
        self._server: asyncio.Server | None = None
        self._changed = asyncio.Event()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        if self.port == 0:
            self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for link in self.links.values():
                await link.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    def link(self, dtu_id: str, reader_factory: Callable[[], FrameReaderLike[F]]) -> DialInLink[F]:
        existing = self.links.get(dtu_id)
        if existing is None:
            existing = DialInLink(reader_factory, timeout=self.timeout, retries=self.retries, name=dtu_id)
            self.links[dtu_id] = existing
        return existing

    async def wait_for(self, dtu_id: str, timeout: float = 5.0) -> None:
        """Wait until DTU ``dtu_id`` has registered (tests, start-up)."""

        async def connected() -> None:
            while not (dtu_id in self.links and self.links[dtu_id].connected):
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(connected(), timeout)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readuntil(b"\n"), self.timeout * 5)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            writer.close()
            return
        dtu_id = line.strip().decode("ascii", "replace")
        if not dtu_id or not dtu_id.isprintable() or len(dtu_id) > 64:
            writer.close()
            return
        link = self.links.get(dtu_id)
        if link is None:
            # created before any meter asked for it; the driver's reader factory replaces ours on use
            from prepay.domain.protocols import dlt645

            link = DialInLink(dlt645.FrameReader, timeout=self.timeout, retries=self.retries, name=dtu_id)
            self.links[dtu_id] = link
        link.attach(reader, writer)
        self._changed.set()


def protocol_error(exc: ProtocolError) -> DriverError:
    """Wrap a codec error: the reply was malformed or from another meter; nothing was changed."""
    return DriverError("protocol", exc.message, cause=exc)
