"""Queueing and delivering notifications.

:func:`queue_notification` (to a customer) and :func:`queue_staff_notification` (to a site's clerks)
run inside the caller's transaction (a warning is recorded together with
the charge that caused it, or not at all). :func:`deliver_pending` sends what is due, outside any
long transaction: it claims rows with ``select_for_update(skip_locked=True)`` so several workers never
send one message twice, then records the outcome (sent / failed, with the error and attempts).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from prepay.customers.models import Account
from prepay.notify.channels import DeliveryError, send, send_mail_direct
from prepay.notify.models import Channel, ChannelKind, Notification, Status, Template
from prepay.notify.templates import BUILTIN, language_of, render
from prepay.tenancy.choices import Role
from prepay.tenancy.models import Site

MAX_ATTEMPTS = 5
LEASE = timedelta(minutes=5)


def _texts(group_id: int, key: str, language: str) -> tuple[str, str]:
    own = Template.objects.filter(group_id=group_id, key=key, language=language).first()
    if own is not None:
        return own.subject, own.body
    texts = BUILTIN[key]
    return texts.get(language) or texts["en"]


def _recipient(channel: Channel, account: Account | None) -> str:
    if channel.kind == ChannelKind.SMS:
        return account.customer.phone if account is not None else ""
    if channel.kind == ChannelKind.EMAIL:
        return account.customer.email if account is not None else ""
    return str((channel.config or {}).get("url", ""))[:200]


def queue_notification(
    account: Account, key: str, context: dict[str, Any], *, idempotency_key: str, language: str | None = None
) -> list[Notification]:
    """Record one notification per enabled channel of the account's site (site channels, else the
    group's). With no channel the notification is still recorded, with status ``no_channel``.
    Repeating ``idempotency_key`` records nothing new. Must run inside a transaction.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("queue_notification must run inside the caller's transaction")
    existing = list(
        Notification.objects.filter(idempotency_key__startswith=f"{idempotency_key}#").order_by("pk")
    )
    if existing:
        return existing
    site = account.site
    lang = language_of(language or account.customer.language or settings.LANGUAGE_CODE)
    ctx = {"account": account.number, "customer": account.customer.name, **context}
    subject, body = render(*_texts(site.group_id, key, lang), ctx)
    channels = list(
        Channel.objects.filter(group_id=site.group_id, enabled=True)
        .filter(Q(site=site) | Q(site__isnull=True))
        .order_by("pk")
    )
    now = timezone.now()
    base = {
        "site": site,
        "account": account,
        "key": key,
        "language": lang,
        "subject": subject[:200],
        "body": body,
        "context": {k: str(v) for k, v in ctx.items()},
        "next_attempt_at": now,
    }
    if not channels:
        return [
            Notification.objects.create(
                **base, status=Status.NO_CHANNEL, idempotency_key=f"{idempotency_key}#-"
            )
        ]
    return [
        Notification.objects.create(
            **base, channel=c, recipient=_recipient(c, account), idempotency_key=f"{idempotency_key}#{c.pk}"
        )
        for c in channels
    ]


def staff_of(site: Site, roles: tuple[str, ...]) -> list[Any]:
    """Active users holding one of ``roles`` on ``site`` or group-wide on its group, by pk."""
    from django.contrib.auth import get_user_model

    from prepay.tenancy.models import Membership

    ids = Membership.objects.filter(
        Q(site=site) | Q(site__isnull=True), group_id=site.group_id, role__in=roles
    ).values("user_id")
    return list(get_user_model().objects.filter(pk__in=ids, is_active=True).order_by("pk"))


def queue_staff_notification(
    site: Site,
    key: str,
    context: dict[str, Any],
    *,
    idempotency_key: str,
    account: Account | None = None,
    roles: tuple[str, ...] = (Role.CLERK,),
) -> list[Notification]:
    """Tell the site's staff (by default its clerks, site-level or group-wide) in the caller's transaction.

    Each such user with an e-mail address gets one notification per enabled e-mail channel of the
    site (else of the group) — or, when there is none, one sent straight through Django's mail
    backend (``PREPAY_EMAIL_URL``); every enabled webhook channel gets one (recipient: its URL). SMS
    channels are for customers (staff have no phone number here). When nobody can be reached the
    notification is still recorded, with status ``no_channel``. Rendered in the platform's language
    (``PREPAY_LANGUAGE``). Repeating ``idempotency_key`` records nothing new.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("queue_staff_notification must run inside the caller's transaction")
    existing = list(
        Notification.objects.filter(idempotency_key__startswith=f"{idempotency_key}#").order_by("pk")
    )
    if existing:
        return existing
    lang = language_of(settings.LANGUAGE_CODE)
    ctx = {"site": site.name, **context}
    subject, body = render(*_texts(site.group_id, key, lang), ctx)
    channels = list(
        Channel.objects.filter(group_id=site.group_id, enabled=True)
        .filter(Q(site=site) | Q(site__isnull=True))
        .exclude(kind=ChannelKind.SMS)
        .order_by("pk")
    )
    base = {
        "site": site,
        "account": account,
        "key": key,
        "language": lang,
        "subject": subject[:200],
        "body": body,
        "context": {k: str(v) for k, v in ctx.items()},
        "next_attempt_at": timezone.now(),
    }
    mail_channels = [c for c in channels if c.kind == ChannelKind.EMAIL] or [None]
    rows = [
        Notification(
            **base,
            channel=c,
            user=u,
            recipient=u.email[:200],
            idempotency_key=f"{idempotency_key}#{c.pk if c else 'mail'}:{u.pk}"[:120],
        )
        for u in staff_of(site, roles)
        if u.email
        for c in mail_channels
    ]
    rows += [
        Notification(
            **base, channel=c, recipient=_recipient(c, account), idempotency_key=f"{idempotency_key}#{c.pk}"
        )
        for c in channels
        if c.kind == ChannelKind.WEBHOOK
    ]
    if not rows:
        rows = [Notification(**base, status=Status.NO_CHANNEL, idempotency_key=f"{idempotency_key}#-")]
    for n in rows:
        n.save()
    return rows


def deliver_pending(limit: int = 100) -> int:
    """Send queued notifications that are due; returns how many were attempted."""
    now = timezone.now()
    with transaction.atomic():
        batch = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(status=Status.QUEUED, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")[:limit]
        )
        for n in batch:  # lease: another worker will not pick these up while we send
            n.attempts += 1
            n.next_attempt_at = now + LEASE
            n.save(update_fields=["attempts", "next_attempt_at"])
    for n in batch:
        channel = Channel.objects.get(pk=n.channel_id) if n.channel_id else None
        try:
            if channel is not None:
                ref = send(channel, n)
            elif n.user_id and n.recipient:  # staff, no e-mail channel: the platform's mail backend
                ref = send_mail_direct(n)
            else:
                raise DeliveryError("no channel", retry=False)
        except DeliveryError as exc:
            n.error = str(exc)[:300]
            if not exc.retry or n.attempts >= MAX_ATTEMPTS:
                n.status = Status.FAILED
            else:
                n.next_attempt_at = timezone.now() + timedelta(minutes=2**n.attempts)
            n.save(update_fields=["error", "status", "next_attempt_at"])
            continue
        n.status, n.provider_ref, n.sent_at, n.error = Status.SENT, ref[:100], timezone.now(), ""
        n.save(update_fields=["status", "provider_ref", "sent_at", "error"])
    return len(batch)
