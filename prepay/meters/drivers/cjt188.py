"""CJ/T 188 water-meter driver over TCP (a DTU / M-Bus gateway): read volume, open / close the valve.

``comm_params``: ``host``, ``port``, ``address`` (14 digits), optional ``meter_type`` (16 = cold
water). Trip closes the valve and close opens it; CJ/T 188 carries no credit, alarm or keep-power.
A sequence number (SER) is sent with each request; replies must echo the meter's address.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from prepay.domain.protocols import cjt188
from prepay.domain.protocols.errors import MeterErrorReply, ProtocolError
from prepay.meters.drivers.base import Capability, DriverError, MeterDriver, Reading, RelayOp, Target, param
from prepay.meters.drivers.transport import Link, protocol_error


def _answers(request: cjt188.Frame) -> Callable[[cjt188.Frame], bool]:
    """Which received frames may answer ``request``: replies to the same function that echo its
    sequence number (SER) — after the DI in a normal reply, first in an abnormal one (SER + ST).

    Anything else is a late answer to an earlier request that timed out, still in the connection's
    buffer: it is skipped, never taken for this request's answer (which would leave the link one
    answer behind, a valve command acknowledged by the previous read's reply). A reply from another
    meter is not skipped: the parser reports it (``address_mismatch``).
    """
    func, ser = request.function, request.data[2]

    def accept(frame: cjt188.Frame) -> bool:
        if not frame.is_reply or frame.function != func:
            return False
        if frame.is_error:
            return len(frame.data) < 3 or frame.data[0] == ser
        return len(frame.data) < 3 or frame.data[2] == ser

    return accept


class Cjt188Driver(MeterDriver):
    capabilities = frozenset({Capability.READ, Capability.RELAY})

    def __init__(self, target: Target, link: Link[cjt188.Frame]) -> None:
        super().__init__(target)
        self.link = link
        try:
            self.address = cjt188.normalize_address(str(param(target, "address", str)))
        except ProtocolError as exc:
            raise DriverError("config", f"meter {target.serial}: {exc.message}") from None
        self.meter_type = int(target.comm_params.get("meter_type", cjt188.COLD_WATER))
        self._ser = itertools.cycle(range(256))

    async def _send(self, frame: cjt188.Frame, *, command: bool = False) -> cjt188.Frame:
        reply = await self.link.request(cjt188.encode_frame(frame), _answers(frame), command=command)
        assert reply is not None
        return reply

    async def read(self) -> Reading:
        frame = cjt188.build_read(self.address, meter_type=self.meter_type, ser=next(self._ser))
        reply = await self._send(frame)
        try:
            r = cjt188.parse_read_reply(reply, expected_address=self.address)
        except MeterErrorReply as exc:
            raise DriverError(
                "refused", f"water meter {self.address} refused the read ({exc.err:04X})"
            ) from None
        except ProtocolError as exc:
            raise protocol_error(exc) from None
        valve = r.status.valve
        relay_open = {cjt188.ValveState.OPEN: False, cjt188.ValveState.CLOSED: True}.get(valve)
        return Reading(
            register=r.current.value,
            relay_open=relay_open,
            status={"valve": valve.value, "battery_low": r.status.battery_low, "unit": r.current.unit},
        )

    async def relay(self, op: RelayOp) -> None:
        if op not in (RelayOp.TRIP, RelayOp.CLOSE, RelayOp.CLOSE_ALLOWED):
            await super().relay(op)
        opening = op != RelayOp.TRIP
        frame = cjt188.build_valve(self.address, opening, meter_type=self.meter_type, ser=next(self._ser))
        reply = await self._send(frame, command=True)
        try:
            cjt188.parse_valve_reply(reply, expected_address=self.address)
        except MeterErrorReply as exc:
            raise DriverError(
                "refused", f"water meter {self.address} refused the valve ({exc.err:04X})"
            ) from None
        except ProtocolError as exc:
            raise protocol_error(exc) from None
