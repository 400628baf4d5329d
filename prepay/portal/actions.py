"""Portal sign-in: asking for a code, signing in with it, signing out; audited where a customer is
known.

Contracts:

* **Same answer for every number.** Asking for a code answers alike whether or not the number is an
  account or an installed meter; throttling counts unknown numbers exactly as known ones, so its
  refusal gives nothing away either.
* **Throttled** per subject (the customer, however named; or the number typed) and per client
  address: codes asked for and wrong codes within ``PREPAY_PORTAL_WINDOW_MINUTES``. At the limit,
  :class:`Throttled` (429) says how many minutes to wait.
* **Codes** are six digits, good for ``PREPAY_PORTAL_CODE_MINUTES``, single-use, spent after
  ``PREPAY_PORTAL_CODE_TRIES`` wrong tries, replaced by a newer code, kept only as a keyed hash.
* **Sessions** are a random key in a cookie (its keyed hash in :class:`PortalSession`), ending after
  ``PREPAY_PORTAL_IDLE_MINUTES`` idle, ``PREPAY_PORTAL_SESSION_MINUTES`` at most, or on signing out.
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connections, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from prepay.audit.actions import record_event
from prepay.common.errors import ActionError
from prepay.customers.models import Customer
from prepay.portal import codes, conf
from prepay.portal.models import AttemptKind, OneTimeCode, PortalAttempt, PortalSession

log = logging.getLogger(__name__)


class Throttled(ActionError):
    """Too many codes asked for, or too many wrong codes: wait ``minutes``."""

    status = 429


@dataclass(frozen=True)
class CustomerActor:
    """Who acts in the portal, for audit events: not a user (``pk`` None), named by customer number."""

    customer: Customer
    pk: None = None

    def get_username(self) -> str:
        return f"customer:{self.customer.number}"


@dataclass
class PendingCode:
    """A code to send once its transaction has committed."""

    row: OneTimeCode
    code: str


def _wait(kind: str, subject: str, address: str | None) -> int | None:
    """Minutes to wait when ``subject`` or ``address`` is at its limit for ``kind``, else None."""
    window = conf.minutes("WINDOW_MINUTES")
    now = timezone.now()
    recent = PortalAttempt.objects.filter(kind=kind, at__gt=now - window)
    per_subject, per_address = (
        ("CODES_PER_ACCOUNT", "CODES_PER_ADDRESS")
        if kind == AttemptKind.CODE
        else ("FAILURES_PER_ACCOUNT", "FAILURES_PER_ADDRESS")
    )
    checks = [(recent.filter(subject=subject), conf.value(per_subject))]
    if address:
        checks.append((recent.filter(address=address), conf.value(per_address)))
    for rows, limit in checks:
        times = list(rows.order_by("-at").values_list("at", flat=True)[:limit])
        if len(times) >= limit:
            # allowed again when the limit-th newest leaves the window
            left = times[limit - 1] + window - now
            return max(1, -(-int(left.total_seconds()) // 60))
    return None


def _refuse(kind: str, minutes: int) -> Throttled:
    if kind == AttemptKind.CODE:
        text = ngettext(
            "Too many codes were asked for. Please wait %(n)s minute, then try again.",
            "Too many codes were asked for. Please wait %(n)s minutes, then try again.",
            minutes,
        )
    else:
        text = ngettext(
            "Too many wrong codes. Please wait %(n)s minute, then ask for a new code.",
            "Too many wrong codes. Please wait %(n)s minutes, then ask for a new code.",
            minutes,
        )
    exc = Throttled("throttled", text % {"n": minutes})
    exc.params["minutes"] = minutes
    return exc


def _new_code(customer: Customer, subject: str) -> PendingCode:
    now = timezone.now()
    # a newer code replaces the older ones still good
    OneTimeCode.objects.filter(customer=customer, used_at__isnull=True, expires_at__gt=now).update(
        expires_at=now
    )
    code = f"{secrets.randbelow(10**6):06d}"
    salt = secrets.token_hex(16)
    row = OneTimeCode.objects.create(
        customer=customer,
        subject=subject,
        salt=salt,
        code_hash=codes.keyed_hash("code", salt, code),
        expires_at=now + conf.minutes("CODE_MINUTES"),
    )
    return PendingCode(row, code)


@transaction.atomic
def do_request_code(*, identifier: str, address: str | None) -> list[PendingCode]:
    """Count the request and make a code for each customer the number names (none for an unknown
    number: the caller answers the same). :class:`Throttled` when at a limit (nothing counted)."""
    customers = codes.customers_for(identifier)
    subject = codes.subject_of(identifier, customers)
    minutes = _wait(AttemptKind.CODE, subject, address)
    if minutes is not None:
        raise _refuse(AttemptKind.CODE, minutes)
    PortalAttempt.objects.create(kind=AttemptKind.CODE, subject=subject, address=address, at=timezone.now())
    pending = [_new_code(c, subject) for c in customers]
    for item in pending:
        customer = item.row.customer
        record_event(
            actor=CustomerActor(customer),
            verb="portal.code",
            obj=customer,
            group_id=customer.site.group_id,
            site_id=customer.site_id,
            after={"address": address},
        )
    return pending


def send_codes(pending: list[PendingCode], *, via: str, language: str) -> None:
    """Send each code (after the transaction that made it has committed) and record how it went.

    In a background thread by default, so the answer takes as long whether or not a code went out
    (a slow SMS gateway would otherwise tell an unknown number from a customer's);
    ``PREPAY_PORTAL_SEND_INLINE=1`` sends before answering (tests, debugging)."""
    if not pending:
        return
    if conf.send_inline():
        _send(pending, via, language)
        return
    threading.Thread(
        target=_send_in_thread, args=(pending, via, language), daemon=True, name="portal-code"
    ).start()


def _send(pending: list[PendingCode], via: str, language: str) -> None:
    minutes = conf.value("CODE_MINUTES")
    for item in pending:
        with translation.override(language):
            result = codes.send_code(
                item.row.customer, item.code, via=via, minutes=minutes, language=language
            )
        OneTimeCode.objects.filter(pk=item.row.pk).update(
            channel=result.channel,
            destination=result.destination,
            delivered=result.delivered,
            error=result.error,
        )


def _send_in_thread(pending: list[PendingCode], via: str, language: str) -> None:
    try:
        _send(pending, via, language)
    except Exception:  # noqa: BLE001 - a background send must not die loudly; the code row says how it went
        log.exception("sending a portal sign-in code failed")
    finally:
        connections.close_all()  # this thread's own connections


def do_sign_in(*, identifier: str, code: str, address: str | None) -> tuple[PortalSession, str]:
    """Sign in with a code: (the new session, its cookie key). A wrong, spent or expired code is
    counted and refused (``wrong_code``); at the failure limits, :class:`Throttled`."""
    typed = "".join(ch for ch in codes.normalise(code) if ch.isdigit())
    with transaction.atomic():
        customers = codes.customers_for(identifier)
        subject = codes.subject_of(identifier, customers)
        minutes = _wait(AttemptKind.FAILURE, subject, address)
        if minutes is not None:
            raise _refuse(AttemptKind.FAILURE, minutes)
        now = timezone.now()
        candidates = list(
            OneTimeCode.objects.select_for_update()
            .filter(
                subject=subject, used_at__isnull=True, expires_at__gt=now, tries__lt=conf.value("CODE_TRIES")
            )
            .select_related("customer__site")
            .order_by("pk")
        )
        match = next(
            (
                c
                for c in candidates
                if len(typed) == 6 and codes.compare(c.code_hash, codes.keyed_hash("code", c.salt, typed))
            ),
            None,
        )
        if match is not None:
            return _open_session(match, address)
        for c in candidates:
            c.tries += 1
            c.save(update_fields=["tries"])
        PortalAttempt.objects.create(kind=AttemptKind.FAILURE, subject=subject, address=address, at=now)
    raise ActionError(
        "wrong_code", _("The code is wrong or no longer good. Check it, or ask for a new code.")
    )


def _open_session(match: OneTimeCode, address: str | None) -> tuple[PortalSession, str]:
    now = timezone.now()
    match.used_at = now
    match.save(update_fields=["used_at"])
    customer = match.customer
    OneTimeCode.objects.filter(customer=customer, used_at__isnull=True, expires_at__gt=now).update(
        expires_at=now
    )
    key = secrets.token_urlsafe(32)
    session = PortalSession.objects.create(
        customer=customer,
        key_hash=codes.keyed_hash("session", key),
        last_seen_at=now,
        expires_at=now + conf.minutes("SESSION_MINUTES"),
        address=address,
    )
    record_event(
        actor=CustomerActor(customer),
        verb="portal.signin",
        obj=customer,
        group_id=customer.site.group_id,
        site_id=customer.site_id,
        after={"session": session.pk, "address": address},
    )
    return session, key


def session_for(key: str | None) -> PortalSession | None:
    """The live session of a cookie key (None when unknown, signed out, idle too long or over), with
    its last request noted (at most once a minute)."""
    if not key or len(key) > 100:
        return None
    session = (
        PortalSession.objects.filter(key_hash=codes.keyed_hash("session", key), ended_at__isnull=True)
        .select_related("customer__site__group")
        .first()
    )
    now = timezone.now()
    if (
        session is None
        or session.expires_at <= now
        or session.last_seen_at + conf.minutes("IDLE_MINUTES") <= now
    ):
        return None
    if now - session.last_seen_at > timedelta(minutes=1):
        PortalSession.objects.filter(pk=session.pk).update(last_seen_at=now)
        session.last_seen_at = now
    return session


@transaction.atomic
def do_sign_out(*, session: PortalSession) -> None:
    """End ``session`` (its cookie stops working at once)."""
    updated = PortalSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(
        ended_at=timezone.now()
    )
    if updated:
        customer = session.customer
        record_event(
            actor=CustomerActor(customer),
            verb="portal.signout",
            obj=customer,
            group_id=customer.site.group_id,
            site_id=customer.site_id,
            after={"session": session.pk},
        )


def actor_of(session: PortalSession) -> Any:
    return CustomerActor(session.customer)
