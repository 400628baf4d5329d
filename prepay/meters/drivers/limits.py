"""Limits that keep the wire side of the platform bounded: what one peer can make us hold, and for how long.

Every long-lived network component (the DTU listener, TCP links to DTUs and gateways, the MQTT broker
connection) takes its limits from one :class:`Limits` value. Defaults suit a few thousand DTUs on one
server; each can be set with an environment variable (read by :meth:`Limits.from_env`, used by
``pollmeters``), and tests pass their own values. See docs/telemetry.md, "Limits at the edges".

When a limit is hit the connection (or, for MQTT, the message) is dropped and one line is logged on
the ``prepay.wire`` logger — never a traceback, never payload bytes.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

log = logging.getLogger("prepay.wire")

#: a DTU id is at most this many characters (``comm_params["dtu"]``); its packet adds the line end
MAX_DTU_ID = 64
#: the largest registration / heartbeat packet: the id and ``\r\n``
MAX_DTU_PACKET = MAX_DTU_ID + 2

#: environment variable → field of :class:`Limits`
ENVIRONMENT = {
    "PREPAY_DTU_MAX_CONNECTIONS": "max_connections",
    "PREPAY_DTU_MAX_PER_ADDRESS": "max_per_address",
    "PREPAY_DTU_REGISTER_TIMEOUT": "register_timeout",
    "PREPAY_DTU_HEARTBEAT_TIMEOUT": "heartbeat_timeout",
    "PREPAY_DTU_IDLE_TIMEOUT": "idle_timeout",
    "PREPAY_DTU_DISPUTE_HOLD": "dispute_hold",
    "PREPAY_WIRE_MAX_BUFFER": "max_buffer",
    "PREPAY_DLT645_MAX_FRAME": "dlt645_max_frame",
    "PREPAY_CJT188_MAX_FRAME": "cjt188_max_frame",
    "PREPAY_MQTT_MAX_PAYLOAD": "mqtt_max_payload",
    "PREPAY_MQTT_MAX_QUEUE": "mqtt_max_queue",
    "PREPAY_WIRE_MAX_EVENTS": "max_events",
}


@dataclass(frozen=True)
class FrameSpec:
    """How big a frame of one byte protocol may be, and where its length byte sits.

    ``overhead`` is the frame's size without its data field (start bytes, address, control, length,
    checksum, end); ``length_at`` the index of the length byte counted from the opening 0x68.
    """

    name: str
    overhead: int
    length_at: int
    max_bytes: int

    def declared(self, candidate: bytes) -> int | None:
        """The size a frame candidate (starting at its 0x68) announces, once its length byte arrived."""
        if len(candidate) > self.length_at and candidate[0] == 0x68:
            return self.overhead + candidate[self.length_at]
        return None

    def size(self, frame: Any) -> int:
        """The wire size of a decoded frame (its data field plus the overhead)."""
        return self.overhead + len(getattr(frame, "data", b""))


@dataclass(frozen=True)
class Limits:
    """The wire limits (units in the names' docs). All must be positive; timeouts are seconds.

    * ``max_connections`` — open DTU connections in all (registered or not);
    * ``max_per_address`` — open DTU connections from one remote IP address (DTUs behind one carrier
      NAT share an address, hence the generous default);
    * ``register_timeout`` — a new connection must send its registration packet within this;
    * ``heartbeat_timeout`` — a DTU silent this long has missed its heartbeats: another connection
      may take its id over;
    * ``idle_timeout`` — a connection silent this long is closed;
    * ``dispute_hold`` — after a takeover, no command (credit, relay, clock) is sent through the new
      connection until it has held the id this long without another claim (0: no hold);
    * ``max_buffer`` — bytes held or accepted per connection without a complete frame (also: bytes of
      noise between requests, and unsent bytes towards a peer that does not read);
    * ``dlt645_max_frame`` / ``cjt188_max_frame`` — largest frame accepted, in bytes (preamble not
      counted); DL/T 645 allows 200 data bytes (12 + 200), CJ/T 188 replies carry far fewer;
    * ``mqtt_max_payload`` — largest MQTT message payload accepted, in bytes;
    * ``mqtt_max_queue`` — MQTT messages waiting for the consumer;
    * ``max_events`` — security events waiting for the database writer.
    """

    max_connections: int = 2000
    max_per_address: int = 100
    register_timeout: float = 10.0
    heartbeat_timeout: float = 90.0
    idle_timeout: float = 300.0
    dispute_hold: float = 300.0
    max_buffer: int = 4096
    dlt645_max_frame: int = 12 + 200
    cjt188_max_frame: int = 13 + 128
    mqtt_max_payload: int = 16 * 1024
    mqtt_max_queue: int = 1000
    max_events: int = 1000

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "dispute_hold":
                if value < 0:
                    raise ValueError(f"{f.name} must not be negative")
            elif value <= 0:
                raise ValueError(f"{f.name} must be positive")
        if self.dlt645_max_frame < 12 or self.cjt188_max_frame < 13:
            raise ValueError("a frame limit must leave room for the frame's header")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """Defaults overridden by the ``PREPAY_…`` variables of :data:`ENVIRONMENT`.

        Raises ValueError naming the variable when a value is not a positive number.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        types = {f.name: f.type for f in fields(cls)}
        for var, name in ENVIRONMENT.items():
            text = env.get(var)
            if text is None or not text.strip():
                continue
            try:
                values[name] = int(text) if types[name] in ("int", int) else float(text)
            except ValueError:
                raise ValueError(f"{var}={text!r} is not a number") from None
        try:
            return cls(**values)
        except ValueError as exc:
            var = next((v for v, n in ENVIRONMENT.items() if str(exc).startswith(n)), "")
            raise ValueError(f"{var}: {exc}" if var else str(exc)) from None

    def frame_spec(self, protocol: str) -> FrameSpec:
        """The frame limit of a byte protocol (``dlt645`` or ``cjt188``)."""
        if protocol == "dlt645":
            return FrameSpec("DL/T 645", overhead=12, length_at=9, max_bytes=self.dlt645_max_frame)
        if protocol == "cjt188":
            return FrameSpec("CJ/T 188", overhead=13, length_at=10, max_bytes=self.cjt188_max_frame)
        raise ValueError(f"no frame limit for {protocol!r}")

    def describe(self) -> str:
        """One line for start-up logs: every limit with its value."""
        return ", ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))


def frame_violation(
    spec: FrameSpec, pending: bytes, frames: list[Any], received: int, max_buffer: int
) -> str:
    """Why a stream broke a frame limit, or "" when it did not.

    ``pending`` is what the frame reader holds back (a frame candidate from its 0x68), ``frames`` what
    it just completed, ``received`` the bytes taken in while waiting for the current answer.
    """
    declared = spec.declared(pending)
    if declared is not None and declared > spec.max_bytes:
        return f"a {spec.name} frame announces {declared} bytes (limit {spec.max_bytes})"
    for frame in frames:
        if spec.size(frame) > spec.max_bytes:
            return f"a {spec.name} frame of {spec.size(frame)} bytes (limit {spec.max_bytes})"
    if len(pending) > spec.max_bytes:
        return f"{len(pending)} bytes without a {spec.name} frame end (limit {spec.max_bytes})"
    if received > max_buffer:
        return f"{received} bytes without the answer (limit {max_buffer})"
    return ""


class Throttle:
    """At most one occurrence per key every ``every`` seconds passes; the rest are counted.

    :meth:`allow` returns None for a held-back occurrence, otherwise how many were held back since
    the last one that passed. Keys live in a bounded table (the oldest is forgotten first), so a
    flood from many addresses cannot grow it.
    """

    def __init__(self, every: float = 10.0, *, keys: int = 1024, clock: Any = time.monotonic) -> None:
        self.every = every
        self.keys = keys
        self.clock = clock
        self._seen: dict[str, tuple[float, int]] = {}

    def allow(self, key: str) -> int | None:
        now = self.clock()
        last = self._seen.get(key)
        if last is not None and now - last[0] < self.every:
            self._seen[key] = (last[0], last[1] + 1)
            return None
        if last is None and len(self._seen) >= self.keys:
            self._seen.pop(next(iter(self._seen)))
        self._seen[key] = (now, 0)
        return last[1] if last is not None else 0


class LogThrottle(Throttle):
    """Logs one line per key at most every ``every`` seconds; the next line says how many were held back.

    A flood (thousands of refused connections, a broker full of oversize messages) thus costs a
    few log lines, not a full disk.
    """

    def warning(self, key: str, message: str, *args: Any) -> bool:
        """Log ``message % args`` on ``prepay.wire`` unless ``key`` was logged recently. True if logged."""
        held = self.allow(key)
        if held is None:
            return False
        suffix = f" ({held} similar lines held back)" if held else ""
        log.warning(message + suffix, *args)
        return True
