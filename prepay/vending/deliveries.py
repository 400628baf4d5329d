"""Credit that must reach the customer's meter outside a sale, and IC-card writes (交付).

At a meter replacement (换表补电) the credit left on the old meter is carried over to the new one.
:func:`deliver_carried_credit` (called by ``prepay.meters.actions.do_replace_meter`` in its own
transaction) records a :class:`CreditDelivery` and delivers it the way the new meter takes credit:

* an STS keypad meter — credit token(s) for the new meter (own TIDs, the group's vending key), shown
  on the clerk's result page and on a numbered receipt (the clerk's shift point, else the site's first
  active counter); a lost token is re-issued as the *same* token, never a new one;
* an IC-card meter — a sealed card image, written onto the customer's card at the counter through
  the card bridge (or downloaded and written by hand), then confirmed with :func:`do_confirm_card_write`;
* a networked meter without keypad or card — a remote ``credit`` command
  (``prepay.telemetry.actions.do_queue_command``), delivered when the meter confirms it;
* a remote fee control account — nothing: its money stays on the balance.

Nothing is lost when delivery fails: the issue error (a missing vending key, STS parameters the meter
lacks, a refused command) is recorded on the delivery, which stays ``pending`` — on the account page
and in the clerks' list of pending deliveries — until :func:`do_retry_delivery` delivers it. A
delivery that never reached a meter which is itself replaced moves on to the next meter.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from prepay.audit.actions import record_event
from prepay.common.actions import locked
from prepay.common.errors import ActionError, PermissionDenied
from prepay.customers.choices import Utility
from prepay.domain.tariffs import register_units
from prepay.meters.models import Installation, Meter
from prepay.tenancy.scoping import require_any
from prepay.vending.crediting import delivery_for, split_units
from prepay.vending.models import (
    CardImage,
    CreditDelivery,
    Delivery,
    DeliveryStatus,
    PointKind,
    Receipt,
    VendingPoint,
)
from prepay.vending.points import next_receipt

#: command states in which a remote credit is still on its way / will never arrive
IN_FLIGHT = ("queued", "sent")
LOST = ("failed", "cancelled")


class State:
    """What a delivery is waiting for (:func:`state_of`)."""

    DELIVERED = "delivered"  # token issued, card written, remote credit confirmed
    TO_WRITE = "to_write"  # card image ready: write it onto the customer's card
    SENT = "sent"  # remote credit queued or sent: the meter has not confirmed it yet
    FAILED = "failed"  # nothing reached the meter: retry
    MOVED = "moved"  # carried on to the next meter at a later replacement


def state_of(delivery: CreditDelivery) -> str:
    """The delivery's state, reading the remote command's own status for remote credit."""
    if delivery.status == DeliveryStatus.DELIVERED:
        return State.DELIVERED
    if delivery.status == DeliveryStatus.MOVED:
        return State.MOVED
    if delivery.kind == Delivery.REMOTE and delivery.command is not None:
        status = delivery.command.status
        if status == "confirmed":
            return State.DELIVERED
        return State.SENT if status in IN_FLIGHT else State.FAILED
    if delivery.kind == Delivery.CARD and delivery.card_id is not None:
        return State.TO_WRITE
    return State.FAILED


def state_label(state: str) -> str:
    """The state in words, in the active language."""
    labels = {
        State.DELIVERED: _("Delivered"),
        State.TO_WRITE: _("Card to write"),
        State.SENT: _("On its way to the meter"),
        State.FAILED: _("Not delivered: try again"),
        State.MOVED: _("Moved to the next meter"),
    }
    return labels[state]


def row(delivery: CreditDelivery) -> dict[str, Any]:
    """A delivery for a list: with its state and labels."""
    state = state_of(delivery)
    return {
        "delivery": delivery,
        "state": state,
        "state_label": state_label(state),
        "kind_label": Delivery(delivery.kind).label,
    }


def pending_deliveries(queryset: QuerySet[CreditDelivery] | None = None) -> QuerySet[CreditDelivery]:
    """Deliveries whose credit has not reached the meter (a confirmed remote credit has)."""
    qs = CreditDelivery.objects.all() if queryset is None else queryset
    return qs.filter(status=DeliveryStatus.PENDING).exclude(kind=Delivery.REMOTE, command__status="confirmed")


def unwritten_cards(queryset: QuerySet[CardImage] | None = None) -> QuerySet[CardImage]:
    """IC-card purchases (sales, adjustments, carried credit) not yet confirmed written to a card."""
    qs = CardImage.objects.all() if queryset is None else queryset
    return qs.filter(written_at__isnull=True)


# --------------------------------------------------------------------------------------------------
# delivering


def _attempt(delivery: CreditDelivery, actor: Any) -> None:
    """Try once to deliver (inside a savepoint): on a refusal the error is kept and nothing else."""
    meter = locked(Meter, delivery.meter_id, "model")
    delivery.attempts += 1
    try:
        with transaction.atomic():
            _deliver(delivery, meter, actor)
    except PermissionDenied:
        raise
    except ActionError as exc:
        delivery.last_error = str(exc)[:200]
    else:
        delivery.last_error = ""
    delivery.save()


def _deliver(delivery: CreditDelivery, meter: Meter, actor: Any) -> None:
    """Issue the token(s), build the card image or queue the remote credit (raises ActionError)."""
    units = delivery.register_units
    reason = delivery.reason
    if delivery.kind == Delivery.TOKEN:
        from prepay.tokens.actions import do_issue_credit_token

        subclass = 1 if delivery.account.utility == Utility.WATER else 0
        for part in split_units(units):
            do_issue_credit_token(
                meter=meter, amount=part, actor=actor, reason=reason, subclass=subclass, delivery=delivery
            )
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = timezone.now()
    elif delivery.kind == Delivery.CARD:
        from prepay.vending.cards import card_image_for

        last = meter.card_images.order_by("-sequence").values_list("sequence", flat=True).first() or 0
        image = card_image_for(meter, sequence=last + 1, units=units, issued=timezone.localdate())
        delivery.card = CardImage.objects.create(
            meter=meter, sequence=last + 1, units=units, image=image.hex()
        )
    elif delivery.kind == Delivery.REMOTE:
        from prepay.telemetry.actions import do_queue_command

        delivery.command = do_queue_command(
            meter,
            "credit",
            actor=actor,
            reason=reason,
            params={"amount": str(units), "delivery": delivery.pk},
            idempotency_key=f"delivery:{delivery.pk}:{delivery.attempts}",
        )
    else:  # pragma: no cover - deliveries are only created with a meter delivery
        raise ValueError(f"{delivery.kind} is not a meter delivery")


def _receipt_point(account: Any, actor: Any) -> VendingPoint | None:
    """Where the carried credit's receipt is numbered: the actor's open shift at the account's site,
    else the site's first active counter (by code), else none."""
    from prepay.vending.actions import current_shift

    shift = current_shift(actor)
    if shift is not None and shift.point.site_id == account.site_id and shift.point.active:
        return shift.point
    points = VendingPoint.objects.filter(site_id=account.site_id, active=True)
    return points.filter(kind=PointKind.COUNTER).order_by("code", "pk").first()


def _issue_receipt(delivery: CreditDelivery, actor: Any) -> Receipt | None:
    point = _receipt_point(delivery.account, actor)
    if point is None:
        return None
    return next_receipt(locked(VendingPoint, point.pk), actor, delivery=delivery)


def _move_undelivered(old: Installation, new_meter: Meter) -> tuple[Decimal, list[int]]:
    """Energy of the old meter's deliveries that never reached it (no token issued, no card image,
    a remote credit that failed); they are marked moved and their energy joins the new delivery."""
    moved, ids = Decimal("0"), []
    for d in CreditDelivery.objects.select_for_update().filter(meter_id=old.meter_id).order_by("pk"):
        if d.status == DeliveryStatus.PENDING and (
            (d.kind == Delivery.TOKEN and not d.tokens.exists())
            or (d.kind == Delivery.CARD and d.card_id is None)
            or (d.kind == Delivery.REMOTE and (d.command is None or d.command.status in LOST))
        ):
            d.status = DeliveryStatus.MOVED
            d.last_error = (_("Moved to meter %(m)s.") % {"m": new_meter.serial})[:200]
            d.save(update_fields=["status", "last_error"])
            moved += d.energy
            ids.append(d.pk)
    return moved, ids


def deliver_carried_credit(
    inst: Installation, *, actor: Any, old: Installation, reason: str
) -> CreditDelivery | None:
    """Deliver the credit carried onto ``inst`` (a new installation, in the replacing transaction,
    with the account and both meters locked). Returns the delivery, or None when there is nothing
    to deliver (no credit, or a remote fee control account whose money stays on the balance).

    Refuses ``no_delivery`` (a meter that takes neither tokens, cards nor remote credit) — the
    replacement is then refused as a whole: the credit would have nowhere to go.
    """
    account, meter = inst.account, Meter.objects.select_related("model").get(pk=inst.meter_id)
    kind = delivery_for(account, meter)
    if kind == Delivery.BALANCE:
        return None
    moved, moved_ids = _move_undelivered(old, meter)
    energy = Decimal(inst.credit_carried_in) + moved
    if energy <= 0:
        return None
    delivery = CreditDelivery.objects.create(
        account=account,
        meter=meter,
        installation=inst,
        kind=kind,
        energy=energy,
        register_units=register_units(energy, meter.ct_ratio, meter.pt_ratio),
        reason=reason[:200],
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    _attempt(delivery, actor)
    receipt = _issue_receipt(delivery, actor)
    _audit(actor, "delivery.create", delivery, receipt=receipt.code if receipt else None, moved=moved_ids)
    return delivery


def _audit(actor: Any, verb: str, delivery: CreditDelivery, **extra: Any) -> None:
    site = delivery.account.site
    record_event(
        actor=actor,
        verb=verb,
        obj=delivery,
        object_repr=f"{delivery.meter.serial} {delivery.register_units}",
        group_id=site.group_id,
        site_id=site.pk,
        after={
            "account": delivery.account.number,
            "meter": delivery.meter.serial,
            "kind": delivery.kind,
            "energy": str(delivery.energy),
            "register_units": str(delivery.register_units),
            "state": state_of(delivery),
            "attempts": delivery.attempts,
            "error": delivery.last_error,
            "tokens": [t.pk for t in delivery.tokens.all()],
            "card_sequence": delivery.card.sequence if delivery.card else None,
            "command": delivery.command_id,
        }
        | extra,
    )


def _may_deliver(actor: Any, site: Any) -> None:
    require_any(actor, ("account.lifecycle", "vend.sell"), group_id=site.group_id, site_id=site.pk)


@transaction.atomic
def do_retry_delivery(*, delivery: CreditDelivery, actor: Any) -> CreditDelivery:
    """Try again to deliver credit that has not reached the meter (clerks, cashiers).

    Refuses ``already_delivered``, ``in_flight`` (the remote credit is still on its way),
    ``card_ready`` (the card image exists: write it), ``moved`` and ``meter_removed`` (the meter no
    longer serves the account). A token is never issued twice: a delivered token is re-issued with
    :func:`do_reissue_delivery_tokens` (the same digits).
    """
    from prepay.customers.models import Account

    account = locked(Account, delivery.account_id, "site")
    delivery = locked(CreditDelivery, delivery.pk)
    _may_deliver(actor, account.site)
    state = state_of(delivery)
    refusals = {
        State.DELIVERED: ("already_delivered", _("This credit has already reached the meter.")),
        State.SENT: ("in_flight", _("The remote credit is still on its way to the meter; wait for it.")),
        State.TO_WRITE: ("card_ready", _("The card image is ready: write it onto the customer's card.")),
        State.MOVED: ("moved", _("This credit was moved to the next meter.")),
    }
    if state in refusals:
        raise ActionError(*refusals[state])
    if not account.installations.filter(meter_id=delivery.meter_id, ended_at__isnull=True).exists():
        raise ActionError(
            "meter_removed", _("Meter %(m)s no longer serves this account.") % {"m": delivery.meter.serial}
        )
    _attempt(delivery, actor)
    _audit(actor, "delivery.retry", delivery)
    return delivery


@transaction.atomic
def do_reissue_delivery_tokens(*, delivery: CreditDelivery, actor: Any) -> list[Any]:
    """A lost token of carried credit: the same token(s) again (same digits and TIDs), audited."""
    from prepay.tokens.actions import do_reprint_token

    _may_deliver(actor, delivery.account.site)
    tokens = list(delivery.tokens.order_by("pk"))
    if not tokens:
        raise ActionError("no_token", _("No token has been issued for this credit yet."))
    return [do_reprint_token(token=t, actor=actor) for t in tokens]


# --------------------------------------------------------------------------------------------------
# IC cards: confirming the write, reading a card at the counter


def _card_site(card: CardImage) -> Any:
    return card.meter.site


@transaction.atomic
def do_confirm_card_write(
    *, card: CardImage, actor: Any, read_back: str | None = None, by_hand: bool = False
) -> CardImage:
    """The purchase ``card`` is on the customer's card: marks it written (and its carried-credit
    delivery delivered), audited as ``card.write``.

    ``read_back``: the image (hex) the card bridge read from the card after writing it; it must be
    the image itself (``card_mismatch`` otherwise). ``by_hand=True``: written with another tool from
    the downloaded image, confirmed by the operator without a read-back. Refuses ``already_written``.
    """
    card = locked(CardImage, card.pk, "meter__site")
    site = _card_site(card)
    _may_deliver(actor, site)
    if card.written_at is not None:
        raise ActionError("already_written", _("This purchase has already been written to the card."))
    if not by_hand and (read_back or "").strip().lower() != card.image.lower():
        raise ActionError(
            "card_mismatch", _("The card does not hold this purchase after writing; write it again.")
        )
    card.written_at = timezone.now()
    card.written_by = actor if getattr(actor, "pk", None) else None
    card.save(update_fields=["written_at", "written_by"])
    delivery = CreditDelivery.objects.select_for_update().filter(card=card).first()
    if delivery is not None:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = card.written_at
        delivery.save(update_fields=["status", "delivered_at"])
    record_event(
        actor=actor,
        verb="card.write",
        obj=card,
        object_repr=f"{card.meter.serial} #{card.sequence}",
        group_id=site.group_id,
        site_id=site.pk,
        after={
            "meter": card.meter.serial,
            "sequence": card.sequence,
            "units": str(card.units),
            "how": "by_hand" if by_hand else "bridge",
            "vend": card.vend_id,
            "adjustment": card.adjustment_id,
            "delivery": delivery.pk if delivery is not None else None,
        },
    )
    return card


@dataclass(frozen=True)
class CardReading:
    """What a card read at the counter holds (插卡查询), for the screen."""

    meter: Meter
    account: Any  # the account the meter serves now, or None
    sequence: int
    units: Decimal
    issued: Any  # date
    record: CardImage | None  # the purchase as recorded, when it is one of ours
    newest_sequence: int  # the meter's newest purchase sequence on record


def read_card(*, image_hex: str, actor: Any) -> CardReading:
    """Identify the card whose purchase image is ``image_hex`` (as the card bridge read it).

    Only meters the actor may see are considered; the image must be sealed with that meter's key.
    Refuses ``blank_card`` (nothing on it), ``unreadable_card`` (not a purchase image) and
    ``unknown_card`` (no meter of ours the card belongs to). Nothing is written.
    """
    from prepay.domain.cards import CardError
    from prepay.vending.cards import peek_serial, verify_card_image

    text = (image_hex or "").strip()
    if not text:
        raise ActionError("blank_card", _("The card holds no purchase; it cannot be matched to an account."))
    try:
        image = bytes.fromhex(text)
        serial = peek_serial(image)
    except (ValueError, CardError):
        raise ActionError("unreadable_card", _("The card does not hold a purchase of ours.")) from None
    for meter in Meter.objects.for_user(actor).filter(serial=serial).select_related("site"):  # type: ignore[attr-defined]
        try:
            credit = verify_card_image(meter, image, last_sequence=0)
        except CardError:
            continue
        inst = meter.installations.filter(ended_at__isnull=True).select_related("account").first()
        newest = meter.card_images.order_by("-sequence").values_list("sequence", flat=True).first() or 0
        return CardReading(
            meter=meter,
            account=inst.account if inst else None,
            sequence=credit.sequence,
            units=credit.units,
            issued=credit.issued,
            record=meter.card_images.filter(sequence=credit.sequence).first(),
            newest_sequence=newest,
        )
    raise ActionError("unknown_card", _("This card belongs to no meter you may see (%(s)s).") % {"s": serial})


def account_deliveries(account: Any) -> dict[str, Any]:
    """The account page's panel: carried-credit deliveries (newest first) and unwritten card purchases."""
    deliveries = list(
        CreditDelivery.objects.filter(account=account)
        .select_related("meter", "command", "card", "receipt")
        .prefetch_related("tokens")[:20]
    )
    meters = account.installations.values("meter_id")
    cards = unwritten_cards(CardImage.objects.filter(meter_id__in=meters)).filter(
        Q(vend__account=account) | Q(adjustment__account=account) | Q(delivery__account=account)
    )
    return {
        "rows": [row(d) for d in deliveries],
        "pending": sum(1 for d in deliveries if state_of(d) not in (State.DELIVERED, State.MOVED)),
        "cards": list(cards.select_related("meter", "vend", "adjustment").order_by("sequence")),
    }
