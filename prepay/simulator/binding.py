"""Build virtual meters from the database's meter list and bind the meters to them.

:func:`virtual_meter_for` mirrors a ``Meter`` (kind, CT/PT, STS key, card key, opening reading,
fee-control mode of its account); :func:`bind_fleet` places each on a fleet listener and records
the resulting ``protocol`` + ``comm_params`` and a due :class:`MeterLink` through
:func:`prepay.telemetry.actions.do_bind_meter`.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from prepay.meters.choices import MeterKind, Protocol, TokenSystem
from prepay.meters.models import Meter
from prepay.simulator.card import platform_verifier
from prepay.simulator.clock import Clock
from prepay.simulator.fleet import Fleet
from prepay.simulator.meter import VirtualMeter

#: protocol used for a meter that names none
DEFAULT_PROTOCOL = {
    MeterKind.SINGLE_PHASE: Protocol.DLT645,
    MeterKind.THREE_PHASE: Protocol.MODBUS_TCP,
    MeterKind.WATER: Protocol.CJT188,
}


def _profile(meter: Meter, account: Any) -> str:
    if meter.model.kind == MeterKind.WATER:
        return "water"
    code = getattr(getattr(getattr(account, "customer", None), "customer_type", None), "code", "") or ""
    if code in ("residential", "commercial", "industrial"):
        return code
    return "residential" if meter.model.kind == MeterKind.SINGLE_PHASE else "commercial"


def virtual_meter_for(
    meter: Meter, clock: Clock, *, credit: Decimal | None = None, with_keys: bool = True
) -> VirtualMeter:
    """A virtual meter mirroring ``meter``. ``credit``: initial local credit (register units)."""
    inst = (
        meter.installations.filter(ended_at__isnull=True)
        .select_related("account__customer__customer_type")
        .first()
    )
    account = inst.account if inst is not None else None
    mode = getattr(account, "mode", None)
    local = (
        mode == "local" if mode else meter.model.token_system != TokenSystem.NONE or meter.model.has_ic_card
    )
    mult = meter.multiplier
    opening = Decimal(inst.opening_reading) / mult if inst is not None else Decimal("0")
    profile = _profile(meter, account)
    seed = zlib.crc32(meter.serial.encode())
    vm = VirtualMeter(
        serial=meter.serial,
        clock=clock,
        kind=meter.model.kind,
        profile=profile,
        seed=seed,
        # the register sees the real load divided by the multiplier (a factory behind 200/5 A CTs)
        scale=1.0 / mult,
        ct_ratio=meter.ct_ratio,
        pt_ratio=meter.pt_ratio,
        address=str((meter.comm_params or {}).get("address", "")),
        local_control=local,
        credit=(credit if credit is not None else Decimal(20 + seed % 80)) if local else Decimal("0"),
        alarm_level=meter.model.effective_alarm_level / mult,
        energy=opening.quantize(Decimal("0.01")),
    )
    if with_keys and local:
        if meter.model.token_system == TokenSystem.STS and meter.drn:
            from prepay.simulator.keys import decoder_for

            try:
                vm.decoder = decoder_for(meter)
            except Exception:  # noqa: BLE001 — no vending key imported yet: the meter simply has no keypad
                vm.decoder = None
        if meter.model.has_ic_card:
            vm.card_verifier = platform_verifier(meter)
    return vm


def bind_fleet(
    meters: Iterable[Meter],
    fleet: Fleet,
    clock: Clock,
    *,
    poll_interval: int | None = None,
    protocol: str | None = None,
    dial_in: bool = False,
    credit: Decimal | None = None,
) -> list[tuple[Meter, VirtualMeter]]:
    """Mirror every meter in ``fleet`` and record how to reach it (audited as the system)."""
    from prepay.telemetry.actions import do_bind_meter

    out = []
    for meter in meters:
        vm = virtual_meter_for(meter, clock, credit=credit)
        proto = protocol or meter.protocol or DEFAULT_PROTOCOL[MeterKind(meter.model.kind)]
        if meter.model.kind == MeterKind.WATER and proto not in (Protocol.CJT188, Protocol.MODBUS_TCP):
            proto = Protocol.CJT188
        params = fleet.add(vm, proto, dial_in=dial_in and proto == Protocol.DLT645)
        do_bind_meter(meter, protocol=proto, comm_params=params, actor=None, poll_interval=poll_interval)
        out.append((meter, vm))
    return out
