"""The DTU listener: 4G / Ethernet DTUs that connect in to the platform and carry a DL/T 645 bus.

Wire contract: a DTU first sends its **registration packet** — its id (printable ASCII, at most
:data:`~prepay.meters.drivers.limits.MAX_DTU_ID` characters) ended by ``\\n`` (``\\r\\n`` accepted) —
then carries frames transparently. Its **heartbeat** is the registration packet again, sent between
frames; any bytes received count as a sign of life.

Everything one peer can make the listener hold is bounded (:class:`~prepay.meters.drivers.limits.Limits`):
connections in all and per remote address, the registration time, silence, the registration packet,
bytes without a complete answer, frame size, noise between requests, unsent bytes towards a peer that
does not read, and the queue of security events waiting for the database writer. Bytes are handled as
they arrive (an :class:`asyncio.Protocol`, no stream buffer): nothing is kept between requests but a
partial heartbeat line. A broken limit closes that connection and logs one line (``prepay.wire``).

**Who holds a DTU id** (the claim rule):

1. A live connection keeps its id. A second connection registering the same id is refused and
   closed, and a ``dtu_claim_refused`` event is queued. If the holder itself got the id less than
   ``dispute_hold`` seconds ago (it may be an impostor that raced in), the id is now disputed: no
   command goes through the holder until ``dispute_hold`` seconds pass without another claim.
2. A holder that is dead — silent for ``heartbeat_timeout`` (missed heartbeats), or closed but not yet
   forgotten — is replaced: the newcomer takes the id over, a ``dtu_takeover`` event is queued, and no
   command goes through the newcomer for ``dispute_hold`` seconds (longer if the id is contested).
3. An id nobody holds is simply registered (a DTU reconnecting after its connection closed).

Reads are served by any holder; commands (credit, relay, clock) raise ``DriverError("disputed")``
before a byte is sent while the holder is not trusted. The poller keeps such commands queued.
The listener cannot authenticate a DTU (its id is no secret): this rule makes a hijack loud and keeps
commands away from a contested connection; it does not replace a private APN, VPN or firewall.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from prepay.meters.drivers.base import DriverError
from prepay.meters.drivers.limits import MAX_DTU_ID, MAX_DTU_PACKET, Limits, LogThrottle, Throttle, log
from prepay.meters.drivers.transport import FrameReaderLike, Link, WireLimitError

F = TypeVar("F")

#: kinds of security events the listener queues for the database writer
CLAIM_REFUSED = "dtu_claim_refused"
TAKEOVER = "dtu_takeover"


@dataclass
class WireEvent:
    """A security event of the listener, waiting to be written as meter events (and audited).

    ``peer`` is the newcomer's ``ip:port``, ``owner`` that of the connection holding the id;
    ``holder_state`` what the holder was when the claim came: ``live``, ``silent`` (for ``silent``
    seconds: missed heartbeats) or ``closed``; ``repeats`` how many similar events from the same
    address were held back before this one (throttled, one per minute).
    """

    kind: str
    dtu: str
    at: datetime
    peer: str
    owner: str
    holder_state: str = "live"
    silent: int = 0
    repeats: int = 0


def parse_dtu_id(packet: bytes) -> str | None:
    """The DTU id in a registration / heartbeat packet, or None when it is not a valid id."""
    try:
        text = packet.strip(b"\r\n \t").decode("ascii")
    except UnicodeDecodeError:
        return None
    if not text or len(text) > MAX_DTU_ID or not text.isprintable():
        return None
    return text


@dataclass
class _Waiter:
    link: Link[Any]
    accept: Callable[[Any], bool] | None
    fut: asyncio.Future[Any]
    received: int = 0


class DtuConnection(asyncio.Protocol):
    """One connection on the listener, registered (``dtu_id`` set) or not yet."""

    def __init__(self, server: DialInServer) -> None:
        self.server = server
        self.limits = server.limits
        self.transport: asyncio.Transport | None = None
        self.ip = ""
        self.peer = "?"
        self.dtu_id: str | None = None
        self.opened_at = self.last_rx = self.since = self.trusted_at = server.clock()
        self.admitted = False
        self.closed = False
        self.heartbeats = 0
        self._line = bytearray()  # registration packet, then a partial heartbeat line
        self._noise = 0  # bytes between requests that were neither heartbeats nor answers
        self._waiter: _Waiter | None = None

    # ------------------------------------------------------------------ asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.ip, self.peer = str(peer[0]), f"{peer[0]}:{peer[1]}"
        self.server.admit(self)

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        self.last_rx = self.server.clock()
        if self.dtu_id is None:
            data = self._register(data)
            if not data or self.closed:
                return
        w = self._waiter
        if w is not None and not w.fut.done():
            self._answer(w, data)
        else:
            self._between(data)

    def eof_received(self) -> bool | None:
        return None  # close

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionResetError("connection closed"))
        self.server.forget(self)

    # ------------------------------------------------------------------ incoming bytes

    def _register(self, data: bytes) -> bytes:
        """Collect the registration packet; returns the bytes after it (empty while incomplete)."""
        room = MAX_DTU_PACKET - len(self._line)
        end = data.find(b"\n", 0, room)
        if end < 0:
            if len(data) >= room:
                self.abort(f"registration packet longer than {MAX_DTU_PACKET} bytes")
            else:
                self._line += data
            return b""
        packet = bytes(self._line) + data[: end + 1]
        self._line.clear()
        dtu_id = parse_dtu_id(packet)
        if dtu_id is None:
            self.abort(f"invalid registration packet (printable ASCII id of 1-{MAX_DTU_ID} characters)")
            return b""
        if not self.server.register(self, dtu_id):
            return b""
        return data[end + 1 :]

    def _answer(self, w: _Waiter, data: bytes) -> None:
        """Bytes while a request waits: feed its frame reader, within the link's limits."""
        w.received += len(data)
        if w.received > self.limits.max_buffer:
            self.abort(f"{w.received} bytes without the answer (limit {self.limits.max_buffer})", limit=True)
            return
        frames = w.link._frames.feed(data)
        try:
            w.link.check(frames, w.received)
        except WireLimitError as exc:
            self.abort(exc.reason, limit=True)
            return
        for frame in frames:
            if w.accept is None or w.accept(frame):
                self._noise = 0
                w.fut.set_result(frame)
                return

    def _between(self, data: bytes) -> None:
        """Bytes between requests: heartbeat lines are counted, anything else is noise (bounded).

        Only a partial line that may still become a heartbeat is kept; longer pieces are counted
        without being copied.
        """
        start, n = 0, len(data)
        while start < n:
            end = data.find(b"\n", start)
            stop = n if end < 0 else end + 1
            size = len(self._line) + stop - start
            if size > MAX_DTU_PACKET:
                self._noise += size
                self._line.clear()
            elif end < 0:
                self._line += data[start:stop]
            else:
                line = bytes(self._line) + data[start:stop]
                self._line.clear()
                if parse_dtu_id(line) == self.dtu_id:
                    self.heartbeats += 1
                    self._noise = 0
                else:
                    self._noise += size
            start = stop
            if self._noise > self.limits.max_buffer:
                limit = self.limits.max_buffer
                self.abort(f"{self._noise} bytes of noise between requests (limit {limit})", limit=True)
                return

    # ------------------------------------------------------------------ requests

    async def transact(
        self, link: Link[Any], data: bytes, accept: Callable[[Any], bool] | None, expect_reply: bool
    ) -> Any:
        """Send ``data``; wait ``link.timeout`` for the first frame ``accept`` takes.

        Raises TimeoutError, ConnectionError (closed meanwhile) or WireLimitError (closed for a limit).
        """
        if self.closed or self.transport is None:
            raise ConnectionResetError("connection closed")
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        link._frames.reset()
        self._line.clear()
        self._waiter = _Waiter(link, accept, fut)
        try:
            self.transport.write(data)
            unsent = self.transport.get_write_buffer_size()
            if unsent > self.limits.max_buffer:
                self.abort(
                    f"does not read: {unsent} bytes unsent (limit {self.limits.max_buffer})", limit=True
                )
            if not expect_reply and not fut.done():
                return None
            return await asyncio.wait_for(fut, link.timeout)
        finally:
            self._waiter = None

    # ------------------------------------------------------------------ state

    def alive(self, now: float) -> bool:
        """Open and heard from within ``heartbeat_timeout``."""
        return not self.closed and now - self.last_rx < self.limits.heartbeat_timeout

    def buffered(self) -> int:
        """Bytes this connection holds: partial packet, the waiting request's frame reader, unsent."""
        held = len(self._line)
        if self._waiter is not None:
            held += len(self._waiter.link._frames.pending())
        if self.transport is not None and not self.closed:
            held += self.transport.get_write_buffer_size()
        return held

    def abort(self, reason: str, *, limit: bool = False) -> None:
        """Close now (no flushing) and log why. ``limit``: a wire limit was broken."""
        if self.closed:
            return
        self.closed = True
        self.server.closed_for[_reason_key(reason)] += 1
        self.server.throttle.warning(
            f"close:{self.ip}:{_reason_key(reason)}",
            "DTU listener: closed %s (%s): %s",
            self.peer,
            self.dtu_id or "unregistered",
            reason,
        )
        self._fail(WireLimitError(reason) if limit else ConnectionResetError(reason))
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, exc: Exception) -> None:
        w = self._waiter
        if w is not None and not w.fut.done():
            w.fut.set_exception(exc)
            w.fut.exception()  # retrieved: a request that already gave up must not warn later


def _reason_key(reason: str) -> str:
    """A short stable key for a close reason (its words, without numbers and peers)."""
    words = [w for w in reason.split() if w.isalpha()]
    return "_".join(words[:4]) or "closed"


class DialInLink(Link[F]):
    """The meters behind one DTU id; requests go through whichever connection holds the id."""

    def __init__(
        self, server: DialInServer, dtu_id: str, reader_factory: Callable[[], FrameReaderLike[F]], **kw: Any
    ) -> None:
        super().__init__(reader_factory, name=dtu_id, **kw)
        self.server = server

    @property
    def connected(self) -> bool:
        return self.server.holder(self.name) is not None

    async def close(self) -> None:
        """Nothing to do: the listener owns the connections."""

    async def request(
        self,
        data: bytes,
        accept: Callable[[F], bool] | None = None,
        *,
        expect_reply: bool = True,
        command: bool = False,
    ) -> F | None:
        """As :meth:`Link.request`; ``command`` requests are refused (``disputed``) while the id is contested."""
        async with self.lock:
            last: DriverError | None = None
            for _attempt in range(self.retries + 1):
                conn = self.server.holder(self.name)
                if conn is None:
                    last = DriverError("connect", f"DTU {self.name} is not connected")
                    continue
                if command:
                    self.server.check_command(conn)
                try:
                    return await conn.transact(self, data, accept, expect_reply)  # type: ignore[no-any-return]
                except TimeoutError:
                    last = DriverError("timeout", f"DTU {self.name}: no reply within {self.timeout}s")
                except WireLimitError as exc:
                    raise DriverError(
                        "protocol", f"DTU {self.name}: {exc.reason}; connection closed"
                    ) from None
                except (ConnectionError, OSError) as exc:
                    last = DriverError("connect", f"DTU {self.name}: connection lost ({exc})")
            assert last is not None
            raise last


class DialInServer:
    """Listens for DTUs. ``link(dtu_id, reader_factory)`` gives the link to the meters behind a DTU.

    ``clock`` (monotonic seconds) decides silence, registration time and trust; tests may pass their own.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        timeout: float = 2.0,
        retries: int = 1,
        limits: Limits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host, self.port = host, port
        self.timeout, self.retries = timeout, retries
        self.limits = limits or Limits()
        self.clock = clock
        self.links: dict[str, DialInLink[Any]] = {}
        self.connections: set[DtuConnection] = set()
        self.per_address: Counter[str] = Counter()
        self.holders: dict[str, DtuConnection] = {}
        self.events: list[WireEvent] = []
        self.events_dropped = 0
        self.refused: Counter[str] = Counter()  # connections refused at once, by limit
        self.closed_for: Counter[str] = Counter()  # connections closed later, by reason
        self.throttle = LogThrottle(clock=clock)
        self._event_throttle = Throttle(60.0, clock=clock)
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: DtuConnection(self), self.host, self.port)
        if self.port == 0:
            self.port = self._server.sockets[0].getsockname()[1]
        self._sweeper = asyncio.create_task(self._sweep_forever())

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(BaseException):
                await self._sweeper
        if self._server is not None:
            self._server.close()
            for conn in list(self.connections):
                conn.closed = True
                if conn.transport is not None:
                    conn.transport.abort()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    def link(
        self, dtu_id: str, reader_factory: Callable[[], FrameReaderLike[Any]], protocol: str = "dlt645"
    ) -> DialInLink[Any]:
        """The link to the meters behind ``dtu_id`` (one per id, whether it is connected or not)."""
        existing = self.links.get(dtu_id)
        if existing is None:
            existing = DialInLink(
                self,
                dtu_id,
                reader_factory,
                timeout=self.timeout,
                retries=self.retries,
                spec=self.limits.frame_spec(protocol),
                max_buffer=self.limits.max_buffer,
            )
            self.links[dtu_id] = existing
        return existing

    def holder(self, dtu_id: str) -> DtuConnection | None:
        """The open connection holding ``dtu_id``, if any."""
        conn = self.holders.get(dtu_id)
        return conn if conn is not None and not conn.closed else None

    def connected_ids(self) -> set[str]:
        """The ids of the DTUs connected and registered here now (call it on the server's loop)."""
        return {dtu_id for dtu_id, conn in self.holders.items() if not conn.closed}

    async def wait_for(self, dtu_id: str, timeout: float = 5.0) -> None:
        """Wait until DTU ``dtu_id`` has registered (tests, start-up)."""

        async def connected() -> None:
            while self.holder(dtu_id) is None:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(connected(), timeout)

    # ------------------------------------------------------------------ admission and claims

    def admit(self, conn: DtuConnection) -> None:
        """Count a new connection in, or close it at once when a connection limit is reached."""
        lim = self.limits
        if len(self.connections) >= lim.max_connections:
            self._refuse(conn, "max_connections", f"{len(self.connections)} connections open")
        elif conn.ip and self.per_address[conn.ip] >= lim.max_per_address:
            self._refuse(conn, "max_per_address", f"{self.per_address[conn.ip]} connections from {conn.ip}")
        else:
            conn.admitted = True
            self.connections.add(conn)
            self.per_address[conn.ip] += 1

    def _refuse(self, conn: DtuConnection, limit: str, why: str) -> None:
        self.refused[limit] += 1
        conn.closed = True
        self.throttle.warning(
            f"refuse:{limit}",
            "DTU listener: refused %s: %s (limit %s=%s)",
            conn.peer,
            why,
            limit,
            getattr(self.limits, limit),
        )
        assert conn.transport is not None
        conn.transport.abort()

    def forget(self, conn: DtuConnection) -> None:
        """A connection ended: release its slot and its id."""
        if conn.admitted:
            conn.admitted = False
            self.connections.discard(conn)
            self.per_address[conn.ip] -= 1
            if self.per_address[conn.ip] <= 0:
                del self.per_address[conn.ip]
        if conn.dtu_id is not None and self.holders.get(conn.dtu_id) is conn:
            del self.holders[conn.dtu_id]
        self._changed.set()

    def register(self, conn: DtuConnection, dtu_id: str) -> bool:
        """Apply the claim rule (module docstring) to ``conn`` registering as ``dtu_id``.

        Returns False when the claim was refused (``conn`` is then closed).
        """
        now = self.clock()
        hold = self.limits.dispute_hold
        holder = self.holders.get(dtu_id)
        if holder is not None and holder.alive(now):
            if now - holder.since < hold:  # a young holder may be the impostor: hold its commands
                holder.trusted_at = max(holder.trusted_at, now + hold)
            self._record(CLAIM_REFUSED, dtu_id, conn, holder, now)
            conn.abort(f"claims DTU id {dtu_id}, held by a live connection from {holder.peer}")
            return False
        conn.dtu_id = dtu_id
        conn.since = now
        conn.trusted_at = now
        self.holders[dtu_id] = conn
        if holder is not None:
            silent = now - holder.last_rx
            reason = "connection closed" if holder.closed else f"silent for {silent:.0f} s"
            conn.trusted_at = now + hold
            self._record(TAKEOVER, dtu_id, conn, holder, now)
            holder.abort(f"DTU id {dtu_id} taken over by {conn.peer} ({reason})")
        self._changed.set()
        return True

    def check_command(self, conn: DtuConnection) -> None:
        """Raise ``DriverError("disputed")`` unless commands may go through ``conn`` now."""
        wait = conn.trusted_at - self.clock()
        if wait > 0:
            raise DriverError(
                "disputed",
                f"DTU {conn.dtu_id}: claim disputed (connection from {conn.peer}); "
                f"commands wait {wait:.0f} s more",
            )

    def _record(self, kind: str, dtu_id: str, conn: DtuConnection, holder: DtuConnection, now: float) -> None:
        """Queue a security event for the database writer (bounded, throttled per address)."""
        held = self._event_throttle.allow(f"{kind}:{dtu_id}:{conn.ip}")
        if held is None:
            return
        if len(self.events) >= self.limits.max_events:
            self.events_dropped += 1
            self.throttle.warning(
                "events_full",
                "DTU listener: %s event for %s not recorded: %s events wait for the database (limit max_events)",
                kind,
                dtu_id,
                len(self.events),
            )
            return
        silent = int(now - holder.last_rx)
        state = "closed" if holder.closed else ("live" if holder.alive(now) else "silent")
        event = WireEvent(kind, dtu_id, datetime.now(UTC), conn.peer, holder.peer, state, silent, held)
        self.events.append(event)
        log.warning(
            "DTU listener: %s: DTU %s claimed by %s; holder %s was %s (silent %s s)",
            kind,
            dtu_id,
            conn.peer,
            holder.peer,
            state,
            silent,
        )

    def take_events(self) -> list[WireEvent]:
        """Hand the queued security events to the database writer (and forget them)."""
        events, self.events = self.events, []
        return events

    # ------------------------------------------------------------------ timeouts and accounting

    def sweep(self) -> None:
        """Close connections that did not register in time, or have been silent for ``idle_timeout``."""
        now = self.clock()
        lim = self.limits
        for conn in list(self.connections):
            if conn.dtu_id is None and now - conn.opened_at >= lim.register_timeout:
                conn.abort(f"no registration packet within {lim.register_timeout:g} s", limit=True)
            elif conn.dtu_id is not None and now - conn.last_rx >= lim.idle_timeout:
                conn.abort(f"silent for {lim.idle_timeout:g} s (idle timeout)", limit=True)

    async def _sweep_forever(self) -> None:
        every = min(max(min(self.limits.register_timeout, self.limits.idle_timeout) / 4, 0.05), 5.0)
        while True:
            await asyncio.sleep(every)
            self.sweep()

    def buffered_bytes(self) -> int:
        """Bytes held for all connections (what the limits bound)."""
        return sum(conn.buffered() for conn in self.connections)

    def stats(self) -> dict[str, Any]:
        """Counts from the listener's own state: open, registered, held bytes, refusals, closes."""
        return {
            "connections": len(self.connections),
            "registered": len(self.holders),
            "buffered_bytes": self.buffered_bytes(),
            "refused": dict(self.refused),
            "closed": dict(self.closed_for),
            "events_waiting": len(self.events),
            "events_dropped": self.events_dropped,
        }
