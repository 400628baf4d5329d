"""Energy of a meter over a period from its stored readings (for apportionment and line loss)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from prepay.billing.charging import register_spec
from prepay.customers.models import Unit
from prepay.domain import metering
from prepay.meters.models import Installation, Meter
from prepay.telemetry.models import MeterReading


def meter_energy(meter: Meter, start: datetime, end: datetime) -> Decimal:
    """Real energy of ``meter`` over ``[start, end)``: its readings from the last one at or before
    ``start`` to the first one at or after ``end``, through :func:`prepay.domain.metering.consumption`
    (multiplier, rollover, backwards never credited, straddling intervals prorated). Stretches without
    readings count as zero."""
    qs = MeterReading.objects.filter(meter=meter)
    before = qs.filter(read_at__lte=start).order_by("-read_at").values_list("read_at", flat=True).first()
    after = qs.filter(read_at__gte=end).order_by("read_at").values_list("read_at", flat=True).first()
    window = qs
    if before is not None:
        window = window.filter(read_at__gte=before)
    if after is not None:
        window = window.filter(read_at__lte=after)
    rows = list(window.order_by("read_at").values_list("read_at", "register"))
    if len(rows) < 2:
        return Decimal("0.000")
    spec = register_spec(meter)
    readings = [metering.Reading(at, reg, meter.serial) for at, reg in rows]
    span = metering.InstallationSpan(meter.serial, spec, installed_at=rows[0][0], opening=rows[0][1])
    return metering.consumption(start, end, [span], readings).energy


def installed_energy(unit: Unit, utility: str, start: datetime, end: datetime) -> Decimal:
    """Energy of the meters installed at ``unit`` for ``utility`` over the period, each over the part
    of the period it was installed."""
    total = Decimal("0.000")
    insts = Installation.objects.filter(
        unit=unit, account__utility=utility, started_at__lt=end
    ).select_related("meter")
    for inst in insts.order_by("pk"):
        lo = max(start, inst.started_at)
        hi = end if inst.ended_at is None else min(end, inst.ended_at)
        if hi > lo:
            total += meter_energy(inst.meter, lo, hi)
    return total
