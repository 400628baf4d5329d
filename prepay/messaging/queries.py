"""Reading messages: who may be written to, unread counts, the messages about an account.

Everything here is scoped: messages through :meth:`MessageQuerySet.for_user`, sites through
``Site.objects.for_user``, people through :func:`reachable_people`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from prepay.messaging.models import Message, MessageQuerySet
from prepay.tenancy.models import Membership, PropertyGroup, Site
from prepay.tenancy.scoping import can, holds

#: seconds between two looks for new messages (the top bar's badge, the message list)
DEFAULT_POLL_SECONDS = 10


def poll_seconds() -> int:
    """How often pages look for new messages: ``PREPAY_MESSAGES_POLL_SECONDS`` (default 10)."""
    return max(1, int(getattr(settings, "PREPAY_MESSAGES_POLL_SECONDS", DEFAULT_POLL_SECONDS)))


def may_use(user: Any) -> bool:
    """True for signed-in staff holding a role somewhere (or a platform operator)."""
    return bool(getattr(user, "is_authenticated", False)) and holds(user, "view")


def unread_count(user: Any) -> int:
    """How many messages ``user`` may read but has not: one SQL statement (memberships and receipts
    are subqueries)."""
    return Message.objects.for_user(user).unread_by(user).count()


def unread_badge(request: HttpRequest) -> Callable[[], int] | None:
    """The top bar's unread count, for the navigation context of every request.

    None for an htmx fragment (it has no top bar; the badge refreshes itself from its own URL);
    otherwise a callable the template calls only where it shows the badge, at most once.
    """
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.boosted:
        return None
    user = getattr(request, "user", None)
    return cache(lambda: unread_count(user))


def reachable_people(user: Any) -> QuerySet[Any]:
    """The active staff ``user`` may write to: people sharing one of the user's sites, and
    group-level staff of the user's groups; group-level staff reach everyone of their group.
    Never the user, never another group's staff."""
    User = get_user_model()
    people = User.objects.filter(is_active=True).exclude(pk=user.pk)
    if user.is_superuser:
        return people.filter(memberships__isnull=False).distinct().order_by("username")
    mine = list(Membership.objects.filter(user_id=user.pk).values_list("group_id", "site_id"))
    whole_groups = {g for g, s in mine if s is None}
    sites = {s for _g, s in mine if s is not None}
    site_groups = {g for g, s in mine if s is not None}
    q = Q(memberships__group_id__in=whole_groups) | Q(memberships__site_id__in=sites)
    q |= Q(memberships__site__isnull=True, memberships__group_id__in=site_groups)
    return people.filter(q).distinct().order_by("username")


def shared_group(sender: Any, recipient: Any) -> int | None:
    """The group through which ``sender`` may write to ``recipient`` (see :func:`reachable_people`),
    the lowest id when there are several; None when they may not."""
    theirs = list(Membership.objects.filter(user_id=recipient.pk).values_list("group_id", "site_id"))
    if sender.is_superuser:
        return min((g for g, _s in theirs), default=None)
    mine = list(Membership.objects.filter(user_id=sender.pk).values_list("group_id", "site_id"))
    groups = {
        g1 for g1, s1 in mine for g2, s2 in theirs if g1 == g2 and (s1 is None or s2 is None or s1 == s2)
    }
    return min(groups, default=None)


def may_see_account(user: Any, account: Any) -> bool:
    """True when ``user`` may see ``account`` (its site, or group-level in its group)."""
    return can(user, "view", group_id=account.site.group_id, site_id=account.site_id)


@dataclass(frozen=True)
class Destination:
    """One choice of the "To" list: ``key`` is ``site:<id>``, ``group:<id>`` or ``user:<id>``."""

    key: str
    label: str
    kind: str  # "site", "group" or "person"


def person_name(user: Any) -> str:
    """How a person is shown in messages: full name and user name, or the user name."""
    full = user.get_full_name()
    return f"{full} ({user.get_username()})" if full else user.get_username()


def destinations(user: Any, account: Any = None) -> list[Destination]:
    """Where ``user`` may send a message: sites, whole groups (group-level staff only), people.

    About an ``account``: its site, and the people who may see the account; never a whole group (staff
    of the group's other sites may not see the account).
    """
    from django.utils.translation import gettext as _

    if account is not None:
        sites: Iterable[Site] = [account.site]
        groups: Iterable[PropertyGroup] = []
        people = reachable_people(user).filter(
            Q(memberships__site_id=account.site_id)
            | Q(memberships__site__isnull=True, memberships__group_id=account.site.group_id)
        )
    else:
        sites = Site.objects.for_user(user).select_related("group")
        groups = PropertyGroup.objects.filter(pk__in=group_level_groups(user))
        people = reachable_people(user)
    out = [Destination(f"site:{s.pk}", _("Site: %(site)s") % {"site": s.name}, "site") for s in sites]
    out += [
        Destination(f"group:{g.pk}", _("Everyone in %(group)s") % {"group": g.name}, "group") for g in groups
    ]
    out += [Destination(f"user:{p.pk}", person_name(p), "person") for p in people.distinct()]
    return out


def group_level_groups(user: Any) -> QuerySet[Any]:
    """Ids of the groups where ``user`` holds a group-level role (every group for an operator)."""
    if user.is_superuser:
        return PropertyGroup.objects.values("pk")
    return Membership.objects.filter(user_id=user.pk, site__isnull=True).values("group_id")


def listing(user: Any) -> MessageQuerySet:
    """The messages ``user`` may read, newest first, with who, where and the read state."""
    return (
        Message.objects.for_user(user)
        .with_read_state(user)
        .select_related("sender", "recipient", "site", "group", "account__customer")
    )


def about_account(user: Any, account: Any, limit: int = 10) -> list[Message]:
    """The newest messages about ``account`` that ``user`` may read."""
    return list(listing(user).filter(account=account)[:limit])


def visible_account_ids(user: Any, messages: Iterable[Message]) -> set[int]:
    """Of the accounts the ``messages`` are about, the ids ``user`` may open (one query)."""
    from prepay.customers.models import Account

    ids = {m.account_id for m in messages if m.account_id is not None}
    if not ids:
        return set()
    return set(Account.objects.for_user(user).filter(pk__in=ids).values_list("pk", flat=True))
