"""Sign-in codes: who a typed number is, keyed hashes, and sending a code through prepay/notify.

A code is sent with the existing channel API (``prepay.notify.channels.send``) to the customer's
phone (the site's SMS gateway) or e-mail (an e-mail channel), synchronously and never queued: a
queued notification would keep the code in clear in the database. The message in the
``Notification`` handed to the channel is built in memory and not saved.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import F, Q
from django.utils.encoding import force_bytes
from django.utils.translation import gettext as _

from prepay.customers.models import Account, Customer
from prepay.domain.typed import ascii_text
from prepay.meters.models import Installation

_SALT = "prepay.portal.v1"


def keyed_hash(*parts: str) -> str:
    """HMAC-SHA256 (key: a salted SHA-256 of ``SECRET_KEY``) of ``parts`` joined by ``|``, in hex."""
    key = hashlib.sha256(force_bytes(_SALT + settings.SECRET_KEY)).digest()
    return hmac.new(key, "|".join(parts).encode(), hashlib.sha256).hexdigest()


def compare(a: str, b: str) -> bool:
    """Constant-time comparison of two hashes."""
    return hmac.compare_digest(a, b)


def normalise(identifier: str) -> str:
    """What was typed, as compared: ASCII (full-width digits read), trimmed, upper case."""
    return ascii_text(identifier or "").strip().upper()[:40]


def customers_for(identifier: str) -> list[Customer]:
    """The customers an account number or an installed meter's serial names (a serial can repeat
    across groups: then each of them is asked)."""
    text = normalise(identifier)
    if not text:
        return []
    by_meter = Installation.objects.filter(meter__serial__iexact=text, ended_at__isnull=True).values(
        "account"
    )
    ids = (
        Account.objects.filter(Q(number__iexact=text) | Q(pk__in=by_meter))
        .values_list("customer_id", flat=True)
        .distinct()
    )
    return list(Customer.objects.filter(pk__in=list(ids)).select_related("site").order_by("pk"))


def subject_of(identifier: str, customers: list[Customer]) -> str:
    """The throttling subject: the customers when the number is theirs, else the number typed — so
    an account is counted however it is named, and an unknown number is counted just the same."""
    if customers:
        return keyed_hash("customers", ",".join(str(c.pk) for c in customers))
    return keyed_hash("typed", normalise(identifier))


def mask_phone(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 7 else "****"


def mask_email(email: str) -> str:
    name, _sep, domain = email.partition("@")
    return f"{name[:1]}***@{domain}" if domain else "***"


@dataclass
class Delivery:
    channel: str
    destination: str
    delivered: bool
    error: str = ""


def _channel(customer: Customer, kind: str) -> Any:
    from prepay.notify.models import Channel

    return (
        Channel.objects.filter(group_id=customer.site.group_id, enabled=True, kind=kind)
        .filter(Q(site=customer.site) | Q(site__isnull=True))
        .order_by(F("site_id").asc(nulls_last=True), "pk")  # the site's own channel before the group's
        .first()
    )


def _route(customer: Customer, via: str) -> tuple[Any, str] | None:
    """(channel, recipient): by the way asked for when the customer has that address and the site a
    channel for it, else the other way."""
    from prepay.notify.models import ChannelKind

    ways = [ChannelKind.SMS, ChannelKind.EMAIL]
    if via == ChannelKind.EMAIL:
        ways.reverse()
    for kind in ways:
        recipient = customer.phone if kind == ChannelKind.SMS else customer.email
        channel = _channel(customer, kind) if recipient else None
        if channel is not None:
            return channel, recipient
    return None


def message(code: str, minutes: int) -> tuple[str, str]:
    """(subject, text) of the code message in the active language."""
    return (
        _("Your sign-in code"),
        _("Your Prepay sign-in code is %(code)s. It is good for %(n)s minutes. Never tell it to anybody.")
        % {"code": code, "n": minutes},
    )


def send_code(customer: Customer, code: str, *, via: str, minutes: int, language: str) -> Delivery:
    """Send ``code`` to the customer now (outside any transaction); never raises."""
    from prepay.notify.channels import DeliveryError, send
    from prepay.notify.models import ChannelKind, Notification

    route = _route(customer, via)
    if route is None:
        return Delivery("", "", False, "no phone or e-mail with a channel")
    channel, recipient = route
    masked = mask_phone(recipient) if channel.kind == ChannelKind.SMS else mask_email(recipient)
    subject, text = message(code, minutes)
    note = Notification(site=customer.site, key="portal_code", language=language, recipient=recipient)
    note.subject, note.body, note.context = subject, text, {}
    try:
        send(channel, note)
    except DeliveryError as exc:
        return Delivery(channel.kind, masked, False, str(exc)[:200])
    except Exception as exc:  # noqa: BLE001 - a broken gateway must not show as a server error
        return Delivery(channel.kind, masked, False, type(exc).__name__)
    return Delivery(channel.kind, masked, True)
