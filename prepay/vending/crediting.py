"""How credit reaches an account's meter: the meter installed now, the way it takes credit, and
register units loaded onto it (STS token(s), an IC-card image or a queued remote credit command).

Shared by ``actions.py`` (a sale), ``adjustments.py`` (energy given by an approved adjustment) and
``deliveries.py`` (credit carried over at a meter replacement).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from prepay.common.errors import ActionError
from prepay.customers.choices import AccountMode, Utility
from prepay.customers.models import Account
from prepay.meters.choices import TokenSystem
from prepay.meters.models import Meter
from prepay.vending.models import CardImage, Delivery, Vend

#: the most register units one STS credit token carries (IEC 62055-41 amount field)
MAX_UNITS_PER_TOKEN = Decimal("1820162.4")
UNIT_STEP = Decimal("0.1")


def active_meter(account: Account) -> Meter | None:
    """The meter installed on ``account`` now (with its model), None when there is none."""
    inst = account.installations.filter(ended_at__isnull=True).select_related("meter__model").first()
    return inst.meter if inst is not None else None


def delivery_for(account: Account, meter: Meter | None) -> str:
    """How credit reaches this account: remote fee control keeps it on the balance; a local-control
    meter takes an STS token (keypad), else an IC card, else a remote credit command."""
    if account.mode == AccountMode.REMOTE:
        return Delivery.BALANCE
    if meter is None:
        raise ActionError("no_meter", _("Account %(a)s has no meter installed.") % {"a": account.number})
    model = meter.model
    if model.token_system == TokenSystem.STS and model.has_keypad:
        return Delivery.TOKEN
    if model.has_ic_card:
        return Delivery.CARD
    if meter.protocol:
        return Delivery.REMOTE
    raise ActionError(
        "no_delivery",
        _("Meter %(m)s takes neither tokens, cards nor remote credit.") % {"m": meter.serial},
    )


def split_units(units: Decimal) -> list[Decimal]:
    """Token amounts for ``units``: as many full tokens as needed, the rest in the last one."""
    parts: list[Decimal] = []
    while units > MAX_UNITS_PER_TOKEN:
        parts.append(MAX_UNITS_PER_TOKEN)
        units -= MAX_UNITS_PER_TOKEN
    parts.append(units)
    return parts


def deliver_units(
    meter: Meter,
    units: Decimal,
    delivery: str,
    *,
    actor: Any,
    utility: str,
    reason: str,
    idempotency_key: str,
    today: date,
    vend: Vend | None = None,
    adjustment: Any = None,
    seller_checked: bool = False,
) -> dict[str, Any]:
    """Load ``units`` (register units, 0.1 resolution) onto a local-control meter the way it takes
    credit: STS token(s), a sealed IC-card image, or a queued remote credit command. Returns what was
    issued, for the audit event. ``adjustment`` releases an approved adjustment: the approver issues
    the token and the remote command is queued as the system (the approval is what authorises it).
    ``seller_checked``: the caller (a sale) holds the meter's lock, read with its model, and has
    checked that the actor sells there, so the tokens are issued without asking again.
    """
    units = units.quantize(UNIT_STEP)
    if delivery == Delivery.TOKEN:
        from prepay.tokens.actions import do_issue_credit_token, issue_credit_token

        issue = issue_credit_token if seller_checked else do_issue_credit_token
        extra: dict[str, Any] = {} if seller_checked else {"approved": adjustment is not None}
        tokens = [
            issue(
                meter=meter,
                amount=part,
                actor=actor,
                reason=reason,
                subclass=1 if utility == Utility.WATER else 0,
                vend=vend,
                adjustment=adjustment,
                **extra,
            )
            for part in split_units(units)
        ]
        if vend is not None:
            vend.issued_tokens = tokens
        return {"token_ids": [t.pk for t in tokens], "units": str(units)}
    if delivery == Delivery.CARD:
        from prepay.vending.cards import card_image_for

        last = meter.card_images.order_by("-sequence").values_list("sequence", flat=True).first() or 0
        image = card_image_for(meter, sequence=last + 1, units=units, issued=today)
        CardImage.objects.create(
            meter=meter, sequence=last + 1, units=units, image=image.hex(), vend=vend, adjustment=adjustment
        )
        return {"card_sequence": last + 1, "units": str(units)}
    if delivery == Delivery.REMOTE:
        from prepay.telemetry.actions import do_queue_command

        params: dict[str, Any] = {"amount": str(units)}
        params |= {"vend": vend.pk, "receipt": vend.receipt_no} if vend else {"adjustment": adjustment.pk}
        do_queue_command(
            meter,
            "credit",
            actor=None if adjustment is not None else actor,
            reason=reason,
            params=params,
            idempotency_key=idempotency_key,
        )
        return {"remote_command": idempotency_key, "units": str(units)}
    raise ValueError(f"{delivery} is not a meter delivery")
