"""Issuing STS tokens from the database: TID allocation, token records, key changes, key import.

TIDs are strictly increasing per meter and never reused, even under concurrent vends: the meter's
row and its ``MeterTokenState`` row are locked, and a token asked for in a minute already used
takes the next free minute. Every token is recorded (who, when, why, which vend) so a lost token
is re-printed, never re-issued with a new TID.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prepay.audit.actions import record_event
from prepay.common.actions import full_clean, locked
from prepay.common.errors import ActionError
from prepay.domain.tokens.sts import api as sts
from prepay.domain.tokens.sts.errors import StsError
from prepay.domain.tokens.sts.tid import TidSequencer, key_expired, tid_from_datetime
from prepay.domain.tokens.sts.token import token_class_of
from prepay.meters.choices import MeterStatus, TokenSystem
from prepay.meters.models import Meter
from prepay.tenancy.scoping import require, require_any
from prepay.tokens.keystore import KeyStoreError, MeterKeyRef, get_keystore, slot_key_of
from prepay.tokens.models import IssuedToken, KeyChange, MeterTokenState, TokenKind, VendingKey

#: management token subclasses by name (IEC 62055-41 class 2)
MANAGEMENT = {
    "max_power": 0,
    "clear_credit": 1,
    "tariff_rate": 2,
    "clear_tamper": 5,
    "phase_unbalance": 6,
    "water_factor": 7,
}


def meter_ref(meter: Meter, **override: Any) -> MeterKeyRef:
    """The key reference of ``meter`` (optionally with some parameters replaced)."""
    values: dict[str, Any] = {
        "group_id": meter.group_id,
        "drn": meter.drn,
        "supply_group_code": meter.supply_group_code,
        "tariff_index": meter.tariff_index,
        "key_revision": meter.key_revision,
        "key_type": meter.key_type,
        "base_date": meter.base_date,
        "encryption_algorithm": meter.encryption_algorithm,
    }
    values.update(override)
    return MeterKeyRef(**values)


def _require_token_seller(actor: Any, meter: Meter) -> None:
    """Cashiers (``vend.sell``) and clerks (``account.lifecycle``, e.g. credit carried over at 换表)."""
    require_any(actor, ("vend.sell", "account.lifecycle"), group_id=meter.group_id, site_id=meter.site_id)


def _check_sts_meter(meter: Meter) -> None:
    if meter.model.token_system != TokenSystem.STS:
        raise ActionError("not_sts", _("Meter %(m)s does not take STS tokens.") % {"m": meter.serial})
    if meter.status in (MeterStatus.FAULTY, MeterStatus.RETIRED):
        raise ActionError(
            "meter_unusable",
            _("Meter %(m)s is %(s)s.") % {"m": meter.serial, "s": MeterStatus(meter.status).label},
        )
    if not (meter.drn and meter.supply_group_code and meter.tariff_index):
        raise ActionError(
            "sts_parameters_missing",
            _("Meter %(m)s lacks STS parameters (decoder reference number, supply group code, tariff index).")
            % {"m": meter.serial},
        )


def _state(meter: Meter) -> MeterTokenState:
    """Lock (creating on first use) the meter's token state row. Every action that issues a token
    or changes a key holds the meter's row lock first, so a state read together with the locked
    meter (a sale: ``select_related("token_state")``) is used as it came, without a second read."""
    relation = Meter.token_state.related  # type: ignore[attr-defined]
    if relation.is_cached(meter) and (known := relation.get_cached_value(meter)) is not None:
        return known  # type: ignore[no-any-return,return-value]
    state = MeterTokenState.objects.select_for_update().filter(meter=meter).first()
    if state is None:
        try:
            with transaction.atomic():
                MeterTokenState.objects.create(meter=meter)
        except IntegrityError:  # another transaction created it first; fine
            pass
        state = MeterTokenState.objects.select_for_update().get(meter=meter)
    relation.set_cached_value(meter, state)  # the next token of this sale allocates from this one
    return state


def allocate_tid(meter: Meter, at: datetime | None = None) -> int:
    """Next TID for ``meter``: the clock minute, or the minute after the newest issued (locked)."""
    state = _state(meter)
    try:
        # STS TIDs count minutes of the meter's local time since its base date.
        clock = tid_from_datetime(
            timezone.localtime(at or timezone.now()).replace(tzinfo=None), meter.base_date
        )
        tid = TidSequencer(state.last_tid).next(clock)
    except StsError:
        raise ActionError(
            "tid_exhausted",
            _("Meter %(m)s has used every TID of base date %(b)s; change its key to a newer base date.")
            % {"m": meter.serial, "b": meter.base_date},
        ) from None
    if key_expired(tid, state.ken):
        raise ActionError(
            "key_expired",
            _("The meter's decoder key has expired (KEN %(k)s); change the key.") % {"k": state.ken},
        )
    state.last_tid = tid
    state.save(update_fields=["last_tid"])
    return tid


def _record(
    meter: Meter,
    issued: sts.IssuedToken,
    *,
    kind: str,
    actor: Any,
    reason: str,
    vend: Any = None,
    adjustment: Any = None,
    amount: Decimal | None = None,
    value: int | None = None,
    key_change: KeyChange | None = None,
    subclass: int,
    delivery: Any = None,
) -> IssuedToken:
    return IssuedToken.objects.create(
        meter=meter,
        kind=kind,
        token_class=token_class_of(issued.fields),
        subclass=subclass,
        tid=issued.tid,
        token=issued.token,
        amount=amount,
        value=value,
        supply_group_code=meter.supply_group_code,
        key_revision=meter.key_revision,
        tariff_index=meter.tariff_index,
        reason=reason[:200],
        vend=vend,
        adjustment=adjustment,
        key_change=key_change,
        delivery=delivery,
        created_by=actor if getattr(actor, "pk", None) else None,
    )


def _audit(actor: Any, verb: str, meter: Meter, after: dict[str, Any]) -> None:
    # Tokens are not secrets (they are printed on receipts), but keys never reach the audit log.
    record_event(
        actor=actor, verb=verb, obj=meter, group_id=meter.group_id, site_id=meter.site_id, after=after
    )


@transaction.atomic
def do_issue_credit_token(
    *,
    meter: Meter,
    amount: Decimal,
    actor: Any,
    reason: str,
    subclass: int = 0,
    vend: Any = None,
    at: datetime | None = None,
    approved: bool = False,
    adjustment: Any = None,
    delivery: Any = None,
) -> IssuedToken:
    """A credit token for ``amount`` meter register units (kWh for subclass 0, m³ for 1 …).

    Callers convert purchased energy to register units (÷ CT × PT) before calling. Cashiers
    (``vend.sell``) and clerks (``account.lifecycle``, e.g. credit carried over at 换表) may issue;
    ``approved=True`` is an approver (``reversal.approve``) releasing an approved adjustment.
    ``delivery``: the ``CreditDelivery`` (credit carried over at a replacement) the token delivers.
    """
    meter = locked(Meter, meter.pk, "model")
    if approved:
        require(actor, "reversal.approve", group_id=meter.group_id, site_id=meter.site_id)
    else:
        _require_token_seller(actor, meter)
    return issue_credit_token(
        meter=meter,
        amount=amount,
        actor=actor,
        reason=reason,
        subclass=subclass,
        vend=vend,
        at=at,
        adjustment=adjustment,
        delivery=delivery,
    )


def issue_credit_token(
    *,
    meter: Meter,
    amount: Decimal,
    actor: Any,
    reason: str,
    subclass: int = 0,
    vend: Any = None,
    at: datetime | None = None,
    adjustment: Any = None,
    delivery: Any = None,
) -> IssuedToken:
    """The body of :func:`do_issue_credit_token` for an action that already holds ``meter``'s row
    lock (read with its model) and has checked that the actor may sell there (a vend)."""
    _check_sts_meter(meter)
    if not reason.strip():
        raise ActionError("reason_required", _("Say why the token is issued."))
    if not isinstance(amount, Decimal) or amount <= 0:
        raise ActionError("invalid_amount", _("The amount must be a positive number."))
    dk = get_keystore().decoder_key(meter_ref(meter), row=slot_key_of(meter))
    tid = allocate_tid(meter, at)
    try:
        issued = sts.credit_token(dk, subclass, amount, tid=tid, algorithm=meter.encryption_algorithm)
    except StsError as exc:
        raise ActionError(exc.code, str(exc)) from None
    # Record what the meter will actually receive: decode our own token (also proves it decodes).
    loaded: Decimal = sts.decode(issued.token, dk, algorithm=meter.encryption_algorithm).amount  # type: ignore[union-attr]
    row = _record(
        meter,
        issued,
        kind=TokenKind.CREDIT,
        actor=actor,
        reason=reason,
        vend=vend,
        adjustment=adjustment,
        subclass=subclass,
        amount=loaded,
        delivery=delivery,
    )
    _audit(
        actor,
        "token.credit",
        meter,
        {"token_id": row.pk, "tid": tid, "subclass": subclass, "amount": str(row.amount), "reason": reason},
    )
    return row


@transaction.atomic
def do_issue_management_token(
    *,
    meter: Meter,
    kind: str,
    value: int,
    actor: Any,
    reason: str,
    at: datetime | None = None,
    capability: str = "token.management",
) -> IssuedToken:
    """A class 2 management token (``kind`` from :data:`MANAGEMENT`: clear_credit, clear_tamper …).

    ``capability`` is what the actor must hold: ``token.management`` when a clerk asks for the token
    itself, ``reversal.approve`` when it is the consequence of an approved reversal.
    """
    if capability not in ("token.management", "reversal.approve"):
        raise ValueError(f"capability {capability!r} does not authorise management tokens")
    meter = locked(Meter, meter.pk)
    require(actor, capability, group_id=meter.group_id, site_id=meter.site_id)
    _check_sts_meter(meter)
    if kind not in MANAGEMENT:
        raise ActionError("invalid", _("Unknown management token %(k)s.") % {"k": kind})
    if not reason.strip():
        raise ActionError("reason_required", _("Say why the token is issued."))
    dk = get_keystore().decoder_key(meter_ref(meter), row=slot_key_of(meter))
    tid = allocate_tid(meter, at)
    try:
        issued = sts.management_token(
            dk, MANAGEMENT[kind], value, tid=tid, algorithm=meter.encryption_algorithm
        )
    except StsError as exc:
        raise ActionError(exc.code, str(exc)) from None
    row = _record(
        meter,
        issued,
        kind=TokenKind.MANAGEMENT,
        actor=actor,
        reason=reason,
        value=value,
        subclass=MANAGEMENT[kind],
    )
    _audit(actor, f"token.{kind}", meter, {"token_id": row.pk, "tid": tid, "value": value, "reason": reason})
    return row


KEY_FIELDS = ("supply_group_code", "tariff_index", "key_revision", "key_type", "base_date")


def _new_key_parameters(meter: Meter, ken: int, new: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(old, new) key parameters of ``meter``: the new ones validated (and typed) with the meter's own
    field rules and set on it in memory; refuses unknown fields, a bad key expiry number, no change
    and a base date moving backwards (the caller's transaction rolls the in-memory change back)."""
    unknown = set(new) - set(KEY_FIELDS)
    if unknown:
        raise ActionError("invalid", _("Unknown key parameters: %(f)s") % {"f": ", ".join(sorted(unknown))})
    if not (0 <= ken <= 255):
        raise ActionError("invalid", _("The key expiry number must be 0..255."))
    old = {f: getattr(meter, f) for f in KEY_FIELDS}
    # Validate (and type) the new parameters with the meter's own field rules before any use;
    # the transaction rolls the in-memory change back with everything else on a refusal.
    for f, v in new.items():
        if v is not None:
            setattr(meter, f, v)
    full_clean(meter)
    target = {f: getattr(meter, f) for f in KEY_FIELDS}
    if target == old:
        raise ActionError("no_change", _("The new key parameters are the same as the current ones."))
    if target["base_date"] < old["base_date"]:
        raise ActionError(
            "base_date_backwards", _("The base date can only move forward (1993 → 2014 → 2035).")
        )
    return old, target


def _key_change_tokens(
    meter: Meter, old: dict[str, Any], target: dict[str, Any], ken: int
) -> list[sts.IssuedToken]:
    """The key-change tokens moving ``meter`` from the ``old`` decoder key to the ``target`` one
    (rollover on a new base date; a third token when the supply group code changes)."""
    store = get_keystore()
    old_dk = store.decoder_key(meter_ref(meter, **old))
    new_dk = store.decoder_key(meter_ref(meter))
    rollover = target["base_date"] != old["base_date"]
    sgc_changed = target["supply_group_code"] != old["supply_group_code"]
    try:
        return sts.key_change_tokens(
            old_dk,
            new_dk,
            key_revision=int(target["key_revision"]),
            key_type=int(target["key_type"]),
            tariff_index=int(target["tariff_index"]),
            ken_high=ken >> 4,
            ken_low=ken & 0xF,
            rollover=rollover,
            third_token=sgc_changed,
            supply_group_code=target["supply_group_code"] if sgc_changed else None,
            algorithm=meter.encryption_algorithm,
        )
    except StsError as exc:
        raise ActionError(exc.code, str(exc)) from None


@transaction.atomic
def do_change_meter_key(*, meter: Meter, actor: Any, reason: str, ken: int = 255, **new: Any) -> KeyChange:
    """Move a meter to new key parameters (any of :data:`KEY_FIELDS`); returns the change with its tokens.

    The key-change tokens are encrypted with the OLD decoder key and carry the NEW one; a new base
    date sets the rollover flag (the meter clears its TID memory) and restarts TIDs. Every later
    token uses the new key. A third token (supply group code) is added when the SGC changes.
    """
    meter = locked(Meter, meter.pk)
    require(actor, "token.management", group_id=meter.group_id, site_id=meter.site_id)
    _check_sts_meter(meter)
    old, target = _new_key_parameters(meter, ken, new)
    issued = _key_change_tokens(meter, old, target, ken)
    rollover = target["base_date"] != old["base_date"]
    change = KeyChange.objects.create(
        meter=meter,
        old=old,
        new=target,
        rollover=rollover,
        reason=reason[:200],
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    for t in issued:
        _record(
            meter,
            t,
            kind=TokenKind.KEY_CHANGE,
            actor=actor,
            reason=reason,
            key_change=change,
            subclass=t.fields.subclass,
        )  # type: ignore[union-attr]
    meter.save(update_fields=list(KEY_FIELDS))
    state = _state(meter)
    state.ken = ken
    if rollover:
        state.last_tid = None
    state.save(update_fields=["ken", "last_tid"])
    _audit(
        actor,
        "token.key_change",
        meter,
        {
            "key_change_id": change.pk,
            "old": old,
            "new": target,
            "rollover": rollover,
            "tokens": len(issued),
            "reason": reason,
        },
    )
    return change


@transaction.atomic
def do_import_vending_keys(*, group: Any, rows: list[dict[str, Any]], actor: Any) -> list[VendingKey]:
    """Import vending keys (all or nothing). Each row: label, dkga, supply_group_code, key_revision,
    key_type, key (hex). The key is encrypted before it reaches the database and never audited."""
    require(actor, "keys.manage", group_id=group.pk)
    store = get_keystore()
    out = []
    for n, row in enumerate(rows, start=1):
        try:
            sgc, krn, kt = str(row["supply_group_code"]), int(row["key_revision"]), int(row["key_type"])
            label, dkga, key = (
                str(row.get("label") or f"SGC {sgc} KRN {krn}"),
                str(row["dkga"]),
                str(row["key"]),
            )
        except (KeyError, TypeError, ValueError):
            raise ActionError(
                "invalid",
                _("Row %(n)s: needs dkga, supply_group_code, key_revision, key_type and key.") % {"n": n},
            ) from None
        if not (len(sgc) == 6 and sgc.isdigit()) or not 1 <= krn <= 9 or not 0 <= kt <= 3:
            raise ActionError(
                "invalid", _("Row %(n)s: bad supply group code, key revision or key type.") % {"n": n}
            )
        if VendingKey.objects.filter(
            group=group, supply_group_code=sgc, key_revision=krn, key_type=kt
        ).exists():
            raise ActionError(
                "duplicate",
                _("Row %(n)s: a key for SGC %(s)s KRN %(k)s KT %(t)s already exists.")
                % {"n": n, "s": sgc, "k": krn, "t": kt},
            )
        try:
            vk = store.import_key(
                group=group,
                label=label,
                dkga=dkga,
                supply_group_code=sgc,
                key_revision=krn,
                key_type=kt,
                key_hex=key,
            )
        except KeyStoreError as exc:
            raise ActionError(exc.code, _("Row %(n)s: %(why)s") % {"n": n, "why": exc.message}) from None
        record_event(
            actor=actor,
            verb="keys.import",
            obj=vk,
            group_id=group.pk,
            after={
                "label": label,
                "dkga": dkga,
                "supply_group_code": sgc,
                "key_revision": krn,
                "key_type": kt,
            },
        )
        out.append(vk)
    return out


def do_reprint_token(*, token: IssuedToken, actor: Any) -> IssuedToken:
    """Re-print a recorded token (same digits, same TID) — audited, nothing regenerated."""
    meter = token.meter
    _require_token_seller(actor, meter)
    with transaction.atomic():
        _audit(actor, "token.reprint", meter, {"token_id": token.pk, "tid": token.tid})
    return token
