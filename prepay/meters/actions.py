"""Meter stock and installation: register, assign (配表), replace (换表), faulty, back to stock, retire."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prepay.audit.actions import record_event, snapshot
from prepay.common.actions import full_clean, locked
from prepay.common.errors import ActionError
from prepay.customers.choices import AccountStatus, Utility
from prepay.customers.models import Account
from prepay.domain.money import energy as q_energy
from prepay.domain.typed import ascii_text
from prepay.meters.choices import MeterKind, MeterStatus
from prepay.meters.models import Installation, Meter, MeterModel
from prepay.tenancy.scoping import require


def _audit(actor: Any, verb: str, meter: Meter, before: Any, **extra: Any) -> None:
    record_event(
        actor=actor,
        verb=verb,
        obj=meter,
        group_id=meter.group_id,
        site_id=meter.site_id,
        before=before,
        after=(snapshot(meter) or {}) | extra,
    )


#: fields ``do_register_meter`` accepts besides site, serial, model and ratios
REGISTER_FIELDS = (
    "drn",
    "supply_group_code",
    "tariff_index",
    "key_revision",
    "key_type",
    "encryption_algorithm",
    "base_date",
    "protocol",
    "comm_params",
)


def _check_ratios(ct_ratio: Any, pt_ratio: Any) -> None:
    for name, value in (("CT", ct_ratio), ("PT", pt_ratio)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ActionError(
                "invalid_ratio",
                _("The %(n)s ratio must be a whole number of at least 1, not %(v)s.")
                % {"n": name, "v": value},
            )


@transaction.atomic
def do_register_meter(
    *,
    site: Any,
    serial: str,
    model: MeterModel,
    actor: Any,
    ct_ratio: int = 1,
    pt_ratio: int = 1,
    **fields: Any,
) -> Meter:
    """Put a new meter into stock at ``site``. ``fields``: STS and communication parameters."""
    require(actor, "meter.stock", group_id=site.group_id, site_id=site.pk)
    _check_ratios(ct_ratio, pt_ratio)
    if model.group_id != site.group_id:
        raise ActionError("wrong_group", _("The meter model belongs to another group."))
    serial = ascii_text(serial or "").strip()  # Ｍ００１ typed with a Chinese IME is M001
    if Meter.objects.filter(group_id=site.group_id, serial=serial).exists():
        raise ActionError("duplicate", _("Meter %(s)s is already registered.") % {"s": serial})
    allowed = set(REGISTER_FIELDS)
    unknown = set(fields) - allowed
    if unknown:
        raise ActionError("invalid", _("Unknown meter fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    meter = Meter(
        group_id=site.group_id,
        site=site,
        serial=serial,
        model=model,
        ct_ratio=ct_ratio,
        pt_ratio=pt_ratio,
        status=MeterStatus.IN_STOCK,
        **fields,
    )
    full_clean(meter)
    meter.save()
    _audit(actor, "meter.register", meter, None)
    return meter


@transaction.atomic
def do_set_meter_ratios(*, meter: Meter, ct_ratio: int, pt_ratio: int, actor: Any) -> Meter:
    """Change a meter's CT/PT ratio (only in stock: an installed meter's readings depend on it)."""
    meter = locked(Meter, meter.pk)
    require(actor, "meter.stock", group_id=meter.group_id, site_id=meter.site_id)
    _check_ratios(ct_ratio, pt_ratio)
    if meter.status == MeterStatus.INSTALLED:
        raise ActionError(
            "installed", _("Remove the meter before changing its ratios; past readings depend on them.")
        )
    before = snapshot(meter)
    meter.ct_ratio, meter.pt_ratio = ct_ratio, pt_ratio
    meter.save(update_fields=["ct_ratio", "pt_ratio"])
    _audit(actor, "meter.set_ratios", meter, before)
    return meter


def _utility_matches(meter: Meter, account: Account) -> bool:
    is_water = meter.model.kind == MeterKind.WATER
    return is_water == (account.utility == Utility.WATER)


def _install(account: Account, meter: Meter, opening_reading: Decimal, credit: Decimal) -> Installation:
    inst = Installation(
        meter=meter,
        account=account,
        unit=account.unit,
        started_at=timezone.now(),
        opening_reading=opening_reading,
        credit_carried_in=credit,
    )
    inst.save()
    meter.status = MeterStatus.INSTALLED
    meter.save(update_fields=["status"])
    return inst


def _check_installable(account: Account, meter: Meter) -> None:
    if account.status != AccountStatus.OPEN:
        raise ActionError("account_not_open", _("Account %(a)s is not open.") % {"a": account.number})
    if meter.site_id != account.site_id:
        raise ActionError("wrong_site", _("Meter %(m)s belongs to another site.") % {"m": meter.serial})
    if meter.status != MeterStatus.IN_STOCK:
        code = "already_installed" if meter.status == MeterStatus.INSTALLED else "not_in_stock"
        raise ActionError(
            code,
            _("Meter %(m)s is not in stock (it is %(s)s).")
            % {"m": meter.serial, "s": MeterStatus(meter.status).label},
        )
    if not _utility_matches(meter, account):
        raise ActionError(
            "wrong_kind",
            _("A %(k)s meter cannot serve a %(u)s account.")
            % {"k": MeterKind(meter.model.kind).label, "u": Utility(account.utility).label},
        )


def _lock_pair(account: Account, meter: Meter) -> tuple[Account, Meter]:
    # Fixed lock order everywhere: the account first, then meters by pk.
    return locked(Account, account.pk), locked(Meter, meter.pk)


@transaction.atomic
def do_assign_meter(*, account: Account, meter: Meter, opening_reading: Decimal, actor: Any) -> Installation:
    """配表: install a meter from stock for an open account that has none."""
    account, meter = _lock_pair(account, meter)
    require(actor, "account.lifecycle", group_id=account.site.group_id, site_id=account.site_id)
    _check_installable(account, meter)
    if account.installations.filter(ended_at__isnull=True).exists():
        raise ActionError(
            "has_meter", _("Account %(a)s already has a meter; replace it instead.") % {"a": account.number}
        )
    opening_reading = q_energy(opening_reading)
    if opening_reading < 0:
        raise ActionError("invalid", _("A reading cannot be negative."))
    before = snapshot(meter)
    inst = _install(account, meter, opening_reading, Decimal("0"))
    _audit(actor, "meter.assign", meter, before, account=account.number, opening_reading=str(opening_reading))
    return inst


def end_installation(
    inst: Installation,
    *,
    closing_reading: Decimal,
    credit_left: Decimal,
    reason: str,
    meter_status: str = MeterStatus.IN_STOCK,
) -> None:
    """Close an installation and release its meter (callers lock and audit)."""
    inst.ended_at = timezone.now()
    inst.closing_reading = closing_reading
    inst.credit_left = credit_left
    inst.end_reason = reason[:200]
    inst.save(update_fields=["ended_at", "closing_reading", "credit_left", "end_reason"])
    Meter.objects.filter(pk=inst.meter_id).update(status=meter_status)


#: who delivers the credit carried over at a replacement to the new meter (vending registers its
#: ``deliveries.deliver_carried_credit`` when ready): called in the replacing transaction with the new
#: installation, the actor, the old installation and a reason; returns the delivery or None, or
#: refuses (ActionError) and so refuses the replacement
CREDIT_CARRIERS: dict[str, Callable[..., Any]] = {}


def register_credit_carrier(deliver: Callable[..., Any]) -> None:
    CREDIT_CARRIERS["deliver"] = deliver


@transaction.atomic
def do_replace_meter(
    *,
    account: Account,
    new_meter: Meter,
    old_closing_reading: Decimal,
    remaining_credit: Decimal,
    new_opening_reading: Decimal,
    actor: Any,
    reason: str = "",
    old_meter_faulty: bool = True,
) -> Installation:
    """换表: closing reading of the old meter, its remaining credit carried to the new one.

    ``remaining_credit`` is real energy (kWh / m³) left on the old meter; the new installation
    records it as ``credit_carried_in`` and, in the same transaction, it is delivered to the new
    meter with its multiplier (``prepay.vending.deliveries.deliver_carried_credit``): credit token(s)
    with a numbered receipt, an IC-card image to write, or a remote credit command. The delivery is
    ``inst.credit_delivery``; one that could not be made now stays pending (never lost). A remote fee
    control account needs none (its money is on the balance). The old meter goes to ``faulty``
    (default) or back to stock.
    """
    account, new_meter = _lock_pair(account, new_meter)
    require(actor, "account.lifecycle", group_id=account.site.group_id, site_id=account.site_id)
    current = account.installations.filter(ended_at__isnull=True).select_related("meter").first()
    if current is None:
        raise ActionError(
            "no_meter", _("Account %(a)s has no meter to replace; assign one.") % {"a": account.number}
        )
    if current.meter_id == new_meter.pk:
        raise ActionError("same_meter", _("The new meter is the one already installed."))
    _check_installable(account, new_meter)
    old_closing_reading, remaining_credit = q_energy(old_closing_reading), q_energy(remaining_credit)
    new_opening_reading = q_energy(new_opening_reading)
    if old_closing_reading < current.opening_reading:
        raise ActionError(
            "reading_backwards",
            _("The old meter's closing reading %(c)s is below its opening reading %(o)s.")
            % {"c": old_closing_reading, "o": current.opening_reading},
        )
    if remaining_credit < 0 or new_opening_reading < 0:
        raise ActionError("invalid", _("Readings and credit cannot be negative."))
    old_meter = locked(Meter, current.meter_id)
    before = snapshot(old_meter)
    end_installation(
        current,
        closing_reading=old_closing_reading,
        credit_left=remaining_credit,
        reason=reason or _("Replaced"),
        meter_status=MeterStatus.FAULTY if old_meter_faulty else MeterStatus.IN_STOCK,
    )
    inst = _install(account, new_meter, new_opening_reading, remaining_credit)
    old_meter.refresh_from_db()
    delivery = CREDIT_CARRIERS["deliver"](  # vending.deliveries.deliver_carried_credit
        inst,
        actor=actor,
        old=current,
        reason=_("Credit carried over from meter %(o)s to %(n)s")
        % {"o": old_meter.serial, "n": new_meter.serial},
    )
    _audit(
        actor,
        "meter.replace",
        old_meter,
        before,
        account=account.number,
        new_meter=new_meter.serial,
        closing_reading=str(old_closing_reading),
        credit_carried=str(remaining_credit),
        new_opening_reading=str(new_opening_reading),
        reason=reason,
        delivery=delivery.pk if delivery is not None else None,
    )
    return inst


@transaction.atomic
def do_mark_meter_faulty(*, meter: Meter, reason: str, actor: Any) -> Meter:
    """Flag a meter as faulty (in stock, or installed and awaiting replacement)."""
    meter = locked(Meter, meter.pk)
    require(actor, "meter.stock", group_id=meter.group_id, site_id=meter.site_id)
    if not reason.strip():
        raise ActionError("reason_required", _("Say what is wrong with the meter."))
    if meter.status in (MeterStatus.FAULTY, MeterStatus.RETIRED):
        raise ActionError(
            "bad_status",
            _("Meter %(m)s is already %(s)s.") % {"m": meter.serial, "s": MeterStatus(meter.status).label},
        )
    before = snapshot(meter)
    installed = meter.status == MeterStatus.INSTALLED
    meter.status = MeterStatus.FAULTY
    meter.save(update_fields=["status"])
    _audit(actor, "meter.faulty", meter, before, reason=reason.strip(), still_installed=installed)
    return meter


@transaction.atomic
def do_return_meter_to_stock(*, meter: Meter, actor: Any, reason: str = "") -> Meter:
    """A repaired or tested meter goes back to stock; refused while it is still installed."""
    meter = locked(Meter, meter.pk)
    require(actor, "meter.stock", group_id=meter.group_id, site_id=meter.site_id)
    if meter.installations.filter(ended_at__isnull=True).exists():
        raise ActionError(
            "installed", _("Meter %(m)s is still installed; replace it first.") % {"m": meter.serial}
        )
    if meter.status != MeterStatus.FAULTY:
        raise ActionError(
            "bad_status",
            _("Only a faulty meter can return to stock (meter %(m)s is %(s)s).")
            % {"m": meter.serial, "s": MeterStatus(meter.status).label},
        )
    before = snapshot(meter)
    meter.status = MeterStatus.IN_STOCK
    meter.save(update_fields=["status"])
    _audit(actor, "meter.to_stock", meter, before, reason=reason)
    return meter


@transaction.atomic
def do_retire_meter(*, meter: Meter, actor: Any, reason: str) -> Meter:
    """Scrap a meter for good; refused while installed."""
    meter = locked(Meter, meter.pk)
    require(actor, "meter.stock", group_id=meter.group_id, site_id=meter.site_id)
    if (
        meter.status in (MeterStatus.INSTALLED, MeterStatus.RETIRED)
        or meter.installations.filter(ended_at__isnull=True).exists()
    ):
        raise ActionError(
            "bad_status",
            _("Meter %(m)s cannot be retired while %(s)s.")
            % {"m": meter.serial, "s": MeterStatus(meter.status).label},
        )
    if not reason.strip():
        raise ActionError("reason_required", _("Say why the meter is retired."))
    before = snapshot(meter)
    meter.status = MeterStatus.RETIRED
    meter.save(update_fields=["status"])
    _audit(actor, "meter.retire", meter, before, reason=reason.strip())
    return meter
