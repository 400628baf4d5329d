"""The one interface every meter driver implements, and the errors drivers raise.

A driver talks to one meter through a *transport* that may be shared (an RS-485 bus behind a DTU,
one MQTT broker connection): transports allow one outstanding request at a time, apply timeouts and
retries, and check that a reply comes from the meter that was asked.

Drivers never touch the database. The poller gathers what it needs into a :class:`Target` (plain
data), runs the drivers on its event loop and writes the results afterwards.

Errors: every failure is a :class:`DriverError` with a stable ``code``:

* ``timeout`` — no (complete) answer in time, after the retries;
* ``connect`` — the endpoint cannot be reached / the DTU is not connected;
* ``protocol`` — the answer was malformed or from the wrong meter (``cause`` is the
  :class:`~prepay.domain.protocols.ProtocolError`); nothing was changed on our side;
* ``refused`` — the meter answered with an error (e.g. trip refused under keep-power);
* ``unsupported`` — the meter or its protocol cannot do that (e.g. credit over CJ/T 188);
* ``config`` — the meter's ``comm_params`` are missing or invalid;
* ``disputed`` — a command (credit, relay, clock) was not sent: the connection carrying the meter
  holds its DTU id under dispute (see :mod:`prepay.meters.drivers.dialin`); try again later.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any


class DriverError(Exception):
    """A driver could not do what it was asked. ``code`` is stable (see the module docstring)."""

    def __init__(self, code: str, message: str, *, cause: BaseException | None = None) -> None:
        self.code = code
        self.message = message
        self.cause = cause
        super().__init__(f"{code}: {message}")


class RelayOp(enum.StrEnum):
    """Relay / valve operations (DL/T 645 0x1C vocabulary)."""

    TRIP = "trip"
    CLOSE = "close"  # direct close
    CLOSE_ALLOWED = "close_allowed"  # the customer presses the button to close
    ALARM = "alarm"
    ALARM_RELEASE = "alarm_release"
    KEEP_POWER = "keep_power"
    KEEP_POWER_RELEASE = "keep_power_release"


class Capability(enum.StrEnum):
    READ = "read"
    RELAY = "relay"
    ALARM = "alarm"
    KEEP_POWER = "keep_power"
    CREDIT = "credit"
    CLOCK = "clock"


@dataclass(frozen=True)
class Target:
    """What a driver needs to know about one meter (copied out of the database by the poller)."""

    meter_id: int
    serial: str
    protocol: str
    comm_params: dict[str, Any]
    kind: str = "single_phase"
    ct_ratio: int = 1
    pt_ratio: int = 1


@dataclass
class Reading:
    """One read of a meter. Energies are register units (the poller applies CT × PT).

    ``relay_open``: True = supply cut, False = supply on, None = unknown. ``balance``: the credit
    the meter itself holds (local fee control), in its own units; None when it holds none.
    ``purchase_count``: the meter's count of remote credit pushes (for idempotent top-ups).
    """

    register: Decimal
    tou: tuple[Decimal | None, Decimal | None, Decimal | None, Decimal | None] | None = None
    balance: Decimal | None = None
    relay_open: bool | None = None
    alarm: bool = False
    keep_power: bool = False
    purchase_count: int | None = None
    status: dict[str, Any] = field(default_factory=dict)


class MeterDriver(ABC):
    """Talks to one meter. Subclasses set ``capabilities`` and implement the operations they have.

    Every method raises :class:`DriverError` and nothing else.
    """

    capabilities: frozenset[Capability] = frozenset({Capability.READ})

    def __init__(self, target: Target) -> None:
        self.target = target

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    @abstractmethod
    async def read(self) -> Reading:
        """Energy (total, TOU), balance, relay and status words."""

    async def relay(self, op: RelayOp) -> None:
        """Send a relay / valve operation; confirmation is by a later :meth:`read`."""
        raise DriverError("unsupported", f"{self.target.protocol} meter cannot do {op}")

    async def push_credit(self, amount: Decimal, sequence: int) -> None:
        """Add ``amount`` register units as purchase number ``sequence`` (the meter's count + 1).

        Meters ignore a sequence they have already applied, so a retry never loads credit twice.
        """
        raise DriverError("unsupported", f"{self.target.protocol} meter cannot take remote credit")

    async def sync_clock(self, now: datetime) -> None:
        """Set the meter clock to ``now`` (meter local time, naive)."""
        raise DriverError("unsupported", f"{self.target.protocol} meter cannot set its clock")


def param(target: Target, name: str, kind: type, default: Any = None) -> Any:
    """A typed value from ``comm_params`` (``config`` error when missing or of the wrong type)."""
    value = target.comm_params.get(name, default)
    if value is None:
        raise DriverError("config", f"meter {target.serial}: comm_params lacks {name!r}")
    if kind is int and isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise DriverError("config", f"meter {target.serial}: comm_params {name!r} must be {kind.__name__}")
    return value
