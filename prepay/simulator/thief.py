"""A virtual meter that can play a thief (or a broken meter, or an empty flat), for the
suspicious-consumption analysis' tests and demos.

:class:`ThiefMeter` is a :class:`~prepay.simulator.meter.VirtualMeter` with a few switches; the
``play_*`` functions turn them on. What each leaves in the readings:

* **bypass** (relay bridged, 短接): the load keeps flowing through a jumper across the relay, so the
  register keeps counting while the meter is cut off (relay open, credit exhausted);
* **divert** (绕越计量): a share of the load goes round the meter: the register counts only the rest;
* **tamper** (开盖 / 强磁): the tamper flag comes on (cover open, magnet) — each call is one event —
  and a magnet slows the meter to a share of the load;
* **reversed** wiring (反接): the register runs backwards;
* **reset** (清零): the register is cleared once; **jump**: it leaps forward once;
* **vacant**: no load at all (relay closed, meter answering); **offline**: the meter stops answering;
* **token not entered**: the customer buys tokens and never types them — nothing to do on the meter,
  except that an honest customer's :attr:`ThiefMeter.tops_up` enters credit and a thief's does not.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal

from prepay.simulator import load
from prepay.simulator.meter import STEP, VirtualMeter

__all__ = [
    "ThiefMeter",
    "as_thief",
    "play_bypass",
    "play_divert",
    "play_jump",
    "play_offline",
    "play_reset",
    "play_reversed",
    "play_tamper",
    "play_vacant",
]


@dataclass
class ThiefMeter(VirtualMeter):
    relay_bridged: bool = False
    metered_share: float = 1.0
    reversed: bool = False
    vacant: bool = False
    tops_up: bool = True  # an honest customer enters credit before it runs out
    tamper_pulses: bool = False  # the tamper flag clears once it has been read (one event per play)

    def advance(self, to: datetime | None = None) -> None:
        """As :meth:`VirtualMeter.advance`, with the thief's switches applied to each step's load."""
        to = to or self.clock.now()
        assert self.last is not None
        while self.last < to:
            step_end = min(to, self.last + STEP)
            hours = (step_end - self.last).total_seconds() / 3600
            kw = 0.0 if self.vacant else load.power(self.profile, self.last, self.seed, self.scale)
            amount = Decimal(str(round(kw * self.metered_share * hours, 6)))
            if self.reversed:
                self._add_energy(-amount, self.last)
            elif not self.relay_open:
                self._consume(amount, self.last)
            elif self.relay_bridged:
                self._add_energy(amount, self.last)
            self.last = step_end

    def after_read(self) -> None:
        """Called by a reader after each answer: a pulsed tamper flag goes off again."""
        if self.tamper_pulses:
            self.tamper = False


def as_thief(vm: VirtualMeter) -> ThiefMeter:
    """A :class:`ThiefMeter` in the same state as ``vm`` (honest until a ``play_*`` call)."""
    if isinstance(vm, ThiefMeter):
        return vm
    return ThiefMeter(**{f.name: getattr(vm, f.name) for f in fields(VirtualMeter)})


def play_bypass(vm: ThiefMeter) -> None:
    vm.advance()
    vm.relay_bridged = True
    vm.tops_up = False


def play_divert(vm: ThiefMeter, share: float = 0.9) -> None:
    vm.advance()
    vm.metered_share = 1.0 - share


def play_tamper(vm: ThiefMeter, what: str = "cover_open", *, slow_to: float | None = None) -> None:
    """One tamper event: the flag comes on until the next reading has seen it."""
    vm.advance()
    vm.tamper_pulses = True
    vm.tamper_now(what)
    if slow_to is not None:
        vm.metered_share = slow_to


def play_reversed(vm: ThiefMeter) -> None:
    vm.advance()
    vm.reversed = True


def play_reset(vm: ThiefMeter) -> None:
    vm.advance()
    vm.energy = Decimal(0)
    vm.tou = [Decimal(0)] * 4


def play_jump(vm: ThiefMeter, kwh: Decimal) -> None:
    vm.advance()
    vm.energy += kwh
    vm.tou[2] += kwh


def play_vacant(vm: ThiefMeter) -> None:
    vm.advance()
    vm.vacant = True


def play_offline(vm: ThiefMeter) -> None:
    vm.advance()
    vm.silent = True
