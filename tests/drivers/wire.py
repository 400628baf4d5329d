"""Helpers for listener tests: a DTU listener on an ephemeral loopback port and raw DTU connections."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal

from prepay.domain.protocols import dlt645
from prepay.meters.drivers.dialin import DialInServer
from prepay.meters.drivers.limits import Limits

#: what one test waits at most for something that should happen at once (a limit, not a measurement)
PATIENCE = 5.0
ADDRESS = "000000000042"


class FakeClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@contextlib.asynccontextmanager
async def listener(
    clock: Callable[[], float] | None = None, timeout: float = 1.0, **limits: float
) -> AsyncIterator[DialInServer]:
    """A started listener on 127.0.0.1:<ephemeral> with ``limits`` (others default).

    Its clock is a :class:`FakeClock` unless ``clock`` is given: time passes only when a test says so.
    """
    server = DialInServer(
        "127.0.0.1", 0, timeout=timeout, retries=0, limits=Limits(**limits), clock=clock or FakeClock()
    )
    await server.start()
    try:
        yield server
    finally:
        await server.close()


@dataclass
class Dtu:
    """A raw client connection playing a DTU (or an impostor)."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    @classmethod
    async def connect(
        cls, server: DialInServer, packet: bytes | None = None, local: str | None = None
    ) -> Dtu:
        r, w = await asyncio.open_connection(
            "127.0.0.1", server.port, local_addr=(local, 0) if local else None
        )
        dtu = cls(r, w)
        if packet is not None:
            await dtu.send(packet)
        return dtu

    async def send(self, data: bytes) -> bool:
        """Write; False when the listener has closed the connection."""
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, OSError):
            return False
        return True

    async def closed_by_peer(self) -> bytes:
        """Wait (at most PATIENCE) until the listener closes us; returns whatever we received first."""
        got = b""
        with contextlib.suppress(ConnectionError, OSError):
            async with asyncio.timeout(PATIENCE):
                while chunk := await self.reader.read(4096):
                    got += chunk
        assert self.reader.at_eof() or self.writer.is_closing(), "the listener did not close the connection"
        return got

    async def answer(self, reply: bytes) -> bytes:
        """Read one request (whatever arrives first) and write ``reply``; returns the request bytes."""
        async with asyncio.timeout(PATIENCE):
            request = await self.reader.read(4096)
        await self.send(reply)
        return request

    def close(self) -> None:
        self.writer.close()


async def until(condition: object, what: str) -> None:
    """Let the loop run until ``condition()`` holds (at most PATIENCE)."""
    async with asyncio.timeout(PATIENCE):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.01)
    assert condition(), what  # type: ignore[operator]


def read_request() -> bytes:
    return dlt645.encode_frame(dlt645.build_read(ADDRESS, 0x00010000))


def read_reply(data_len: int | None = None) -> bytes:
    """A valid read reply from :data:`ADDRESS` (``data_len``: pad its data field to that size)."""
    frame = dlt645.build_read_reply(ADDRESS, 0x00010000, Decimal("12.34"))
    if data_len is not None:
        frame = dlt645.Frame(frame.address, frame.control, frame.data.ljust(data_len, b"\0"))
    return dlt645.encode_frame(frame)


def is_reply(frame: dlt645.Frame) -> bool:
    return dlt645.is_reply(frame.control)
