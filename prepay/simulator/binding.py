"""Build virtual meters from the database's meter list and bind the meters to them.

:func:`virtual_meter_for` mirrors a ``Meter`` (kind, CT/PT, STS key, card key, fee-control mode of its
account) where the database says it stands (:func:`meter_history`: register, credit sold for it,
relay), so a twin started again, or after the demo's first day of sales, carries on from the last
reading instead of jumping back to the opening reading; :func:`bind_fleet` places each on a fleet listener and records
the resulting ``protocol`` + ``comm_params`` and a due :class:`MeterLink` through
:func:`prepay.telemetry.actions.do_bind_meter`.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class MeterHistory:
    """Where a meter stands by the database: the twin starts here, so its readings carry on from it.

    ``register``: the newest polled register since the installation began, else the opening reading
    (register units: charging reads ``Installation.opening_reading`` as a register). ``credit``: for a
    local-control meter, the register units its customer has loaded — the meter's balance at its newest
    reading plus what was sold for it since (every token entered, every card inserted), else the credit
    carried in at installation plus every purchase since, less what the register says was used; None
    when nothing was ever sold for it, read from it or carried to it. ``relay_open``: the relay as last
    polled (None: never polled). ``card_sequence``: the newest IC-card purchase written for it.
    """

    register: Decimal
    credit: Decimal | None
    relay_open: bool | None
    card_sequence: int


def meter_history(meter: Meter, inst: Any | None) -> MeterHistory:
    """The :class:`MeterHistory` of ``meter`` on its current installation ``inst`` (None: in stock)."""
    from prepay.telemetry.models import MeterLink, MeterReading, RelayState
    from prepay.vending.models import CardImage, Vend, VendStatus

    mult = Decimal(meter.multiplier)
    since = inst.started_at if inst is not None else None
    opening = Decimal(inst.opening_reading) if inst is not None else Decimal("0")
    readings = MeterReading.objects.filter(meter=meter)
    vends = Vend.objects.filter(meter=meter, register_units__isnull=False).exclude(status=VendStatus.REVERSED)
    if since is not None:
        readings, vends = readings.filter(read_at__gte=since), vends.filter(created_at__gte=since)
    last = readings.order_by("-read_at").first()
    register = Decimal(last.register) if last is not None else opening

    def sold(qs: Any) -> Decimal:
        return sum((Decimal(v) for v in qs.values_list("register_units", flat=True)), Decimal("0"))

    if last is not None and last.balance is not None:
        credit: Decimal | None = Decimal(last.balance) + sold(vends.filter(created_at__gt=last.read_at))
    else:
        carried = Decimal(inst.credit_carried_in) / mult if inst is not None else Decimal("0")
        bought = carried + sold(vends)
        credit = max(Decimal("0"), bought - (register - opening)) if bought or last is not None else None
    state = MeterLink.objects.filter(meter=meter).values_list("relay_state", flat=True).first()
    relay = None if state in (None, RelayState.UNKNOWN) else state == RelayState.OPEN
    cards = CardImage.objects.filter(meter=meter).order_by("-sequence").values_list("sequence", flat=True)
    return MeterHistory(register, credit, relay, cards.first() or 0)


def virtual_meter_for(
    meter: Meter, clock: Clock, *, credit: Decimal | None = None, with_keys: bool = True
) -> VirtualMeter:
    """A virtual meter mirroring ``meter`` where the database says it stands (:func:`meter_history`).

    ``credit``: initial local credit (register units) instead of the history's; a local-control
    meter with no history at all starts with a little credit (20–99 units) so it runs.
    """
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
    history = meter_history(meter, inst)
    seed = zlib.crc32(meter.serial.encode())
    if credit is None:
        credit = history.credit if history.credit is not None else Decimal(20 + seed % 80)
    vm = VirtualMeter(
        serial=meter.serial,
        clock=clock,
        kind=meter.model.kind,
        profile=_profile(meter, account),
        seed=seed,
        # the register sees the real load divided by the multiplier (a factory behind 200/5 A CTs)
        scale=1.0 / mult,
        ct_ratio=meter.ct_ratio,
        pt_ratio=meter.pt_ratio,
        address=str((meter.comm_params or {}).get("address", "")),
        local_control=local,
        credit=credit if local else Decimal("0"),
        alarm_level=meter.model.effective_alarm_level / mult,
        energy=history.register.quantize(Decimal("0.01")),
        card_sequence=history.card_sequence,
    )
    if not local and history.relay_open:  # a remote-control meter cut by the platform stays cut
        vm.relay_open, vm.relay_reason = True, "remote"
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
