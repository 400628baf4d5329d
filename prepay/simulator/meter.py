"""A virtual prepaid meter: energy and TOU registers, relay, tamper, local and remote fee control.

The state machine is pure Python (no sockets, no database): protocol front ends in
:mod:`prepay.simulator.servers` translate requests into calls on a :class:`VirtualMeter`.

Local fee control (the meter holds the credit, in register units):

* credit comes in by STS token (:meth:`enter_token`, through the meter-side ``MeterDecoder`` —
  a token is accepted once and rejected as ``used`` the second time), IC card
  (:meth:`insert_card`, accepted once per purchase sequence) or remote push (:meth:`push_credit`,
  idempotent by purchase count);
* two-stage low-credit cut-off: when credit falls to the alarm level the relay opens once as a
  reminder (stage ``reminded``); pressing the button or re-inserting the card restores supply
  (``restored``); at zero the relay opens for good (``exhausted``) until new credit arrives.

Remote fee control (``local_control=False``): the meter holds no credit; the relay follows commands.
Keep-power (保电) refuses trips and suppresses local cut-offs.

Faults for tests and training: ``silent`` (no answer at all), ``refusing`` (every remote command is
answered with an error frame) and ``reply_delay`` (answers arrive late; the DL/T 645 and CJ/T 188
front ends carry out the request first, then hold the answer back: :meth:`hold_back`).

The meter's own clock (:meth:`meter_time`) runs on the simulation clock plus ``clock_offset``, which
a clock sync sets: at ``--speed 60`` it gains a minute every second, as a meter with a bad crystal
would — drivers must take command deadlines from it, not from the server's clock.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from prepay.domain.tokens.sts.meter import MeterDecoder, MeterResult
from prepay.simulator import load
from prepay.simulator.card import CardOutcome, CardVerifier, load_card
from prepay.simulator.clock import Clock

STEP = timedelta(minutes=15)  # longest integration step (the load profile's resolution)
CENT = Decimal("0.01")


class Stage(enum.StrEnum):
    NORMAL = "normal"
    REMINDED = "reminded"  # cut once at the alarm level; waiting for button / card
    RESTORED = "restored"  # restored after the reminder; runs down to zero
    EXHAUSTED = "exhausted"  # cut at zero until new credit


class MeterRefused(Exception):
    """The meter refuses a command (the protocol front end turns it into an error reply)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass
class Event:
    at: datetime
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class VirtualMeter:
    """One simulated meter. Energies and credit are register units (real ÷ CT × PT)."""

    serial: str
    clock: Clock
    kind: str = "single_phase"  # single_phase, three_phase, water
    profile: str = "residential"
    seed: int = 0
    scale: float = 1.0  # load multiplier on the profile mean (register side)
    ct_ratio: int = 1
    pt_ratio: int = 1
    address: str = ""  # DL/T 645 (12 digits) or CJ/T 188 (14 digits) bus address
    local_control: bool = True
    credit: Decimal = Decimal("0")
    alarm_level: Decimal = Decimal("12")
    energy: Decimal = Decimal("0")
    tou: list[Decimal] = field(default_factory=lambda: [Decimal("0")] * 4)
    relay_open: bool = False
    relay_reason: str = ""  # "", remote, reminder, exhausted
    stage: Stage = Stage.NORMAL
    alarm: bool = False
    keep_power: bool = False
    close_allowed: bool = False  # remote close-allowed given: the button closes the relay
    tamper: bool = False
    purchase_count: int = 0
    card_sequence: int = 0
    decoder: MeterDecoder | None = None
    card_verifier: CardVerifier | None = None
    clock_offset: timedelta = timedelta(0)
    events: list[Event] = field(default_factory=list)
    last: datetime | None = None
    requests: int = 0  # protocol requests answered (live summary)
    silent: bool = False  # out of coverage / powered down: front ends do not answer
    refusing: bool = False  # answers every remote command with an error (a suspended meter)
    reply_delay: float = 0.0  # real seconds before an answer goes out (a slow link, a busy DTU)
    delayed: int = 0  # answers being held back by ``reply_delay`` right now

    def __post_init__(self) -> None:
        if self.last is None:
            self.last = self.clock.now()
        if self.local_control and self.credit <= 0:
            self.stage = Stage.EXHAUSTED
            self.relay_open, self.relay_reason = True, "exhausted"

    # ------------------------------------------------------------------ time and load

    def _event(self, kind: str, **detail: Any) -> None:
        self.events.append(Event(self.clock.now(), kind, detail))
        del self.events[:-200]  # keep the newest events only

    def advance(self, to: datetime | None = None) -> None:
        """Integrate the load up to ``to`` (default: the clock's now), applying local cut-offs."""
        to = to or self.clock.now()
        assert self.last is not None
        while self.last < to:
            step_end = min(to, self.last + STEP)
            hours = (step_end - self.last).total_seconds() / 3600
            if not self.relay_open:
                kw = load.power(self.profile, self.last, self.seed, self.scale)
                self._consume(Decimal(str(round(kw * hours, 6))), self.last)
            self.last = step_end

    def _consume(self, amount: Decimal, when: datetime) -> None:
        if self.local_control and not self.keep_power:
            if self.stage == Stage.NORMAL and self.credit - amount <= self.alarm_level < self.credit:
                amount = self.credit - self.alarm_level
                self._add_energy(amount, when)
                self.credit = self.alarm_level
                self.stage = Stage.REMINDED
                self.relay_open, self.relay_reason = True, "reminder"
                self._event("low_credit_cut", credit=str(self.credit))
                return
            if self.credit - amount <= 0:
                self._add_energy(self.credit, when)
                self.credit = Decimal("0")
                self.stage = Stage.EXHAUSTED
                self.relay_open, self.relay_reason = True, "exhausted"
                self._event("credit_exhausted")
                return
            self.credit -= amount
        self._add_energy(amount, when)

    def _add_energy(self, amount: Decimal, when: datetime) -> None:
        self.energy += amount
        self.tou[load.tou_period(when)] += amount

    # ------------------------------------------------------------------ what the meter shows

    def register(self) -> Decimal:
        """Total energy register, truncated to 0.01 like a meter display."""
        self.advance()
        return self.energy.quantize(CENT, ROUND_DOWN)

    def tou_registers(self) -> list[Decimal]:
        self.advance()
        return [v.quantize(CENT, ROUND_DOWN) for v in self.tou]

    def balance(self) -> Decimal:
        self.advance()
        return self.credit.quantize(CENT, ROUND_DOWN) if self.local_control else Decimal("0")

    @property
    def low_credit(self) -> bool:
        return self.local_control and self.credit <= self.alarm_level

    def meter_time(self) -> datetime:
        return self.clock.now() + self.clock_offset

    def flags(self) -> dict[str, bool]:
        return {
            "alarm": self.alarm,
            "keep_power": self.keep_power,
            "tamper": self.tamper,
            "low_credit": self.low_credit,
            "credit_exhausted": self.local_control and self.stage == Stage.EXHAUSTED,
            "local_control": self.local_control,
        }

    def status_word_3(self) -> int:
        """DL/T 645 status word 3: bit4 relay open, bit6 commanded open, bit7 alarm, 8-9 type, 12 keep."""
        word = (1 << 4) if self.relay_open else 0
        word |= (1 << 6) if self.relay_reason == "remote" else 0
        word |= (1 << 7) if self.alarm else 0
        word |= (1 << 8) if self.local_control else 0  # 01 = energy-prepaid
        word |= (1 << 12) if self.keep_power else 0
        word |= (1 << 14) if self.local_control else (1 << 15)
        return word

    # ------------------------------------------------------------------ customer actions

    def press_button(self) -> bool:
        """The customer presses the button: restores after the reminder cut or a close-allowed."""
        self.advance()
        if self.stage == Stage.REMINDED:
            self.stage = Stage.RESTORED
            self._close("button")
            return True
        if self.close_allowed and self.relay_open and self.relay_reason == "remote":
            self.close_allowed = False
            self._close("button")
            return True
        return False

    def enter_token(self, token: str) -> MeterResult:
        """Type a 20-digit STS token on the keypad."""
        if self.decoder is None:
            raise MeterRefused("no_keypad", "this meter has no STS decoder")
        self.advance()
        before = self.decoder.credit(0)
        result = self.decoder.enter(token)
        if result.accepted:
            added = self.decoder.credit(0) - before
            if added > 0:
                self.add_credit(added, "token")
        self._event("token", code=result.code)
        return result

    def insert_card(self, image: bytes) -> CardOutcome:
        """Insert an IC card: loads its purchase once (by sequence); re-inserting restores supply."""
        self.advance()
        outcome = load_card(self, image)
        if not outcome.accepted and self.stage == Stage.REMINDED:
            self.stage = Stage.RESTORED
            self._close("card")
        return outcome

    def add_credit(self, amount: Decimal, source: str) -> None:
        """New credit (token, card, push): closes a relay that was opened for lack of credit."""
        self.credit += amount
        self._event("credit", amount=str(amount), source=source)
        if self.relay_reason in ("reminder", "exhausted"):
            self._close(source)
        if self.stage != Stage.NORMAL:
            self.stage = Stage.NORMAL if self.credit > self.alarm_level else Stage.RESTORED

    def _close(self, why: str) -> None:
        if self.relay_open:
            self.relay_open, self.relay_reason = False, ""
            self._event("relay_closed", by=why)

    def tamper_now(self, what: str = "cover_open") -> None:
        self.tamper = True
        self._event("tamper", what=what)

    async def hold_back(self) -> None:
        """Wait ``reply_delay`` before an answer goes out (a front end awaits it; the bus waits too:
        half duplex), counting the answer in ``delayed`` meanwhile."""
        if self.reply_delay <= 0:
            return
        self.delayed += 1
        try:
            await asyncio.sleep(self.reply_delay)
        finally:
            self.delayed -= 1

    # ------------------------------------------------------------------ remote commands

    def remote(self, op: str) -> None:
        """A relay operation from the platform (trip, close, close_allowed, alarm, …)."""
        self.advance()
        if op == "trip":
            if self.keep_power:
                raise MeterRefused("keep_power", "trip refused: keep-power is active")
            if not self.relay_open:
                self._event("relay_opened", by="remote")
            self.relay_open, self.relay_reason = True, "remote"
            self.close_allowed = False
        elif op == "close":
            if self.local_control and self.stage == Stage.EXHAUSTED:
                raise MeterRefused("no_credit", "close refused: no credit left")
            self._close("remote")
        elif op == "close_allowed":
            self.close_allowed = True
        elif op in ("alarm", "alarm_release"):
            self.alarm = op == "alarm"
        elif op in ("keep_power", "keep_power_release"):
            self.keep_power = op == "keep_power"
        else:
            raise MeterRefused("unknown", f"unknown operation {op}")
        self._event("remote", op=op)

    def push_credit(self, amount: Decimal, sequence: int) -> bool:
        """Remote top-up number ``sequence``; a sequence already applied changes nothing (False)."""
        if not self.local_control:
            raise MeterRefused("remote_control", "a remote-control meter holds no credit")
        if amount <= 0:
            raise MeterRefused("amount", "credit must be positive")
        self.advance()
        if sequence <= self.purchase_count:
            return False
        self.purchase_count = sequence
        self.add_credit(amount, "remote")
        return True

    def set_clock(self, when: datetime) -> None:
        self.clock_offset = when - self.clock.now()
