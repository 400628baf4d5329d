"""Writing messages and read receipts: :func:`do_send_message`, :func:`do_mark_read`.

Both are atomic and write their audit events in the same transaction. The audit event of a message
names its audience, recipient, account, length and the SHA-256 of its body — never the body itself:
the audit log is read by auditors and admins, who are not the audience of a private message, while
the digest still proves what was sent (messages are never changed; see models.py).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prepay.audit.actions import batched, record_event
from prepay.common.errors import ActionError, NotFound, PermissionDenied
from prepay.messaging import queries
from prepay.messaging.choices import Audience
from prepay.messaging.models import MAX_BODY, Message, MessageRead
from prepay.tenancy.scoping import can

#: C0 controls but tab and line feed, DEL, C1 controls, lone surrogates (what the request middleware
#: refuses too; this guards callers that do not come through a request)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_body(body: str) -> str:
    """The body as kept: line ends as ``\\n``, outer blank space removed. Refuses (ActionError) an
    empty body, one over :data:`MAX_BODY` characters, and control characters."""
    text = (body or "").replace("\r\n", "\n").replace("\r", "\n")
    if _CONTROL.search(text):  # before stripping: str.strip() would quietly drop some (U+0085)
        raise ActionError(
            "control_characters",
            _(
                "The message contains a control character (such as NUL) that cannot be kept; nothing was sent."
            ),
        )
    text = text.strip()
    if not text:
        raise ActionError("empty", _("Write a message first: an empty message is not sent."))
    if len(text) > MAX_BODY:
        raise ActionError(
            "too_long",
            _("A message holds at most %(max)s characters; this one has %(n)s.")
            % {"max": MAX_BODY, "n": len(text)},
        )
    return text


def _refuse(message: str) -> PermissionDenied:
    return PermissionDenied("forbidden", message)


def _address(
    actor: Any, *, site: Any, group: Any, recipient: Any, account: Any
) -> tuple[str, int, int | None, Any]:
    """(audience, group id, site id, recipient) for a message, or a refusal."""
    if sum(x is not None for x in (site, group, recipient)) != 1:
        raise ActionError("no_audience", _("Choose whom the message is for: a site, your group or a person."))
    if site is not None:
        if not can(actor, "view", group_id=site.group_id, site_id=site.pk):
            raise _refuse(_("You may only write to your own sites."))
        if account is not None and account.site_id != site.pk:
            raise ActionError(
                "wrong_site", _("A message about an account goes to the account's site or to a person.")
            )
        return Audience.SITE, site.group_id, site.pk, None
    if group is not None:
        if not can(actor, "view", group_id=group.pk):
            raise _refuse(_("Only group-wide staff may write to the whole group."))
        if account is not None:
            raise ActionError(
                "account_group_wide",
                _(
                    "A message about an account cannot go to the whole group: staff of other sites may "
                    "not see the account. Write to its site or to a person."
                ),
            )
        return Audience.GROUP, group.pk, None, None
    if recipient.pk == actor.pk:
        raise ActionError("to_self", _("You cannot send a message to yourself."))
    group_id = queries.shared_group(actor, recipient) if recipient.is_active else None
    if group_id is None:
        raise _refuse(_("You may only write to staff of your sites and of your group."))
    if account is not None:
        if not queries.may_see_account(recipient, account):
            raise ActionError(
                "recipient_cannot_see",
                _("%(person)s may not see account %(account)s; write to someone at its site.")
                % {"person": queries.person_name(recipient), "account": account.number},
            )
        return Audience.PERSON, account.site.group_id, account.site_id, recipient
    return Audience.PERSON, group_id, None, recipient


@transaction.atomic
def do_send_message(
    *,
    actor: Any,
    body: str,
    site: Any = None,
    group: Any = None,
    recipient: Any = None,
    account: Any = None,
) -> Message:
    """Send ``body`` to exactly one of ``site``, ``group`` (the whole group) or ``recipient``,
    optionally about ``account``; return the new message.

    Refuses, changing nothing: an actor without a role (403); an account the actor may not see
    (404, as if it did not exist); a site the actor is not at; the whole group unless the actor is
    group-level staff, and never about an account; a person outside the actor's sites and group, or
    who may not see the account; oneself; an empty or over-long body or control characters.
    """
    if not queries.may_use(actor):
        raise _refuse(_("Only staff with a role may send messages."))
    text = clean_body(body)
    if account is not None and not queries.may_see_account(actor, account):
        raise NotFound("not_found", _("That account does not exist or is outside your sites."))
    audience, group_id, site_id, to = _address(
        actor, site=site, group=group, recipient=recipient, account=account
    )
    message = Message(
        group_id=group_id,
        site_id=site_id,
        audience=audience,
        recipient=to,
        sender=actor,
        account=account,
        body=text,
    )
    message.save()
    record_event(
        actor=actor,
        verb="message.send",
        obj=message,
        group_id=group_id,
        site_id=site_id,
        after={
            "audience": audience,
            "recipient": to.pk if to is not None else None,
            "account": account.pk if account is not None else None,
            "length": len(text),
            "sha256": hashlib.sha256(text.encode()).hexdigest(),
        },
    )
    return message


@transaction.atomic
def do_mark_read(*, actor: Any, messages: Iterable[Message]) -> int:
    """Record that ``actor`` has read ``messages``; return how many receipts are new.

    One receipt per reader and message, written once (reading again changes nothing); one's own
    messages need none. A message the actor may not read is refused as not found (404), and then
    no receipt at all is written.
    """
    wanted = {m.pk for m in messages}
    if not wanted:
        return 0
    readable = list(Message.objects.for_user(actor).filter(pk__in=wanted).order_by("pk"))
    if len(readable) != len(wanted):
        raise NotFound("not_found", _("That message does not exist or is outside your sites."))
    already = set(
        MessageRead.objects.filter(user_id=actor.pk, message_id__in=wanted).values_list(
            "message_id", flat=True
        )
    )
    now = timezone.now()
    new = 0
    with batched():
        for message in readable:
            if message.sender_id == actor.pk or message.pk in already:
                continue
            _receipt, created = MessageRead.objects.get_or_create(
                message=message, user=actor, defaults={"read_at": now}
            )
            if not created:  # read meanwhile in another tab
                continue
            new += 1
            record_event(
                actor=actor,
                verb="message.read",
                obj=message,
                group_id=message.group_id,
                site_id=message.site_id,
                after={"read_at": now.isoformat()},
            )
    return new
