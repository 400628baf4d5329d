"""The purchase message (token by SMS, or e-mail) after an online sale.

It goes through the notification channels of prepay/notify unchanged: one queued
``Notification`` per enabled SMS or e-mail channel of the account's site (else its group), written in
the sale's transaction, so the message exists exactly when the sale does, and delivered by the
notification pass (``prepay runbilling``, ``prepay.notify.actions.deliver_pending``) with its retries.
The text is ours (key ``purchase``), in the customer's language. A token is stored in clear already
(``IssuedToken``), so queuing it in clear adds nothing an intruder could not read.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from prepay.vending.models import Delivery, Vend

KEY = "purchase"


def _text(vend: Vend, order_number: str) -> tuple[str, str]:
    """(subject, body) of the purchase message in the active language."""
    from prepay.vending import ledger
    from prepay.vending.receipts import fmt_energy, fmt_money, token_groups

    energy = fmt_energy(vend.energy, "m³" if vend.account.utility == "water" else "kWh")
    params: dict[str, Any] = {
        "account": vend.account.number,
        "amount": fmt_money(vend.amount),
        "order": order_number,
        "energy": energy,
    }
    if vend.delivery == Delivery.TOKEN:
        tokens = [token_groups(t.token) for t in vend.tokens.order_by("tid", "pk")]
        params["tokens"] = " / ".join(tokens)
        body = _(
            "Account %(account)s: %(amount)s paid online (order %(order)s), %(energy)s bought. "
            "Enter this token on the meter: %(tokens)s"
        )
    elif vend.delivery == Delivery.BALANCE:
        params["balance"] = fmt_money(ledger.balance_of(vend.account))
        body = _(
            "Account %(account)s: %(amount)s paid online (order %(order)s). Balance now %(balance)s; "
            "supply is restored if it was cut."
        )
    elif vend.delivery == Delivery.REMOTE:
        body = _(
            "Account %(account)s: %(amount)s paid online (order %(order)s), %(energy)s bought; "
            "the meter is credited over the network."
        )
    else:
        body = _(
            "Account %(account)s: %(amount)s paid online (order %(order)s), %(energy)s bought. "
            "Load it onto your IC card at a vending point."
        )
    return _("Your purchase"), body % params


def queue_purchase_message(vend: Vend, order_number: str) -> int:
    """Queue the purchase message to the customer's phone and e-mail (inside the sale's transaction);
    returns how many were queued. A customer without phone or e-mail, or a site without such a
    channel, gets none (the token is on screen and in the portal anyway)."""
    from prepay.notify.models import Channel, ChannelKind, Notification

    account = vend.account
    customer = account.customer
    site = account.site
    channels = (
        Channel.objects.filter(
            group_id=site.group_id, enabled=True, kind__in=[ChannelKind.SMS, ChannelKind.EMAIL]
        )
        .filter(Q(site=site) | Q(site__isnull=True))
        .order_by("pk")
    )
    language = customer.language or settings.LANGUAGE_CODE
    with translation.override(language):
        subject, body = _text(vend, order_number)
    queued = 0
    for channel in channels:
        recipient = customer.phone if channel.kind == ChannelKind.SMS else customer.email
        if not recipient:
            continue
        Notification.objects.get_or_create(
            idempotency_key=f"{KEY}:{vend.pk}#{channel.pk}",
            defaults={
                "site": site,
                "account": account,
                "channel": channel,
                "key": KEY,
                "language": "zh-hans" if language.lower().startswith("zh") else "en",
                "recipient": recipient[:200],
                "subject": subject[:200],
                "body": body,
                "context": {"account": account.number, "order": order_number, "receipt": vend.receipt_no},
                "next_attempt_at": timezone.now(),
            },
        )
        queued += 1
    return queued
