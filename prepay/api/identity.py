"""Who stands behind a user: the person themself, or, for an API client's service user, the person who
created the client.

Four eyes means two *people*. An API client acts as its own service user, so without this rule one
admin could request a reversal through a client they created and approve it as themselves, or
through a second client of theirs. :func:`require_different_people` refuses that for every request
one user makes and another decides (reversals, refunds, adjustments:
``prepay.vending.approvals.lock_for_decision``).

A client whose creator is not recorded (``ApiClient.created_by`` empty: created before the field
existed, without an audit event to take it from) counts, conservatively, as created by anyone who
could have created it: a platform operator, or a holder of ``staff.manage`` on its group (or on its
site, for a client bound to one site). Two such clients may have one creator, so they never decide
each other's requests either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from prepay.api.models import ApiClient
from prepay.common.errors import ActionError
from prepay.tenancy.models import Membership
from prepay.tenancy.permissions import roles_for

#: how many "client created by a client's service user" links are followed (a real chain has one)
MAX_CHAIN = 8


@dataclass(frozen=True)
class Behind:
    """The person behind a user: ``person`` when known; otherwise ``unknown`` is the client whose
    creator is not recorded. ``via`` is the first client on the way (None for a person acting
    directly), for messages."""

    person: Any | None
    unknown: ApiClient | None = None
    via: ApiClient | None = None


def behind(user: Any) -> Behind:
    """Follow ``user`` → its API client → the client's creator (→ …) to a person or an unknown creator."""
    current, via = user, None
    for _step in range(MAX_CHAIN):
        client = ApiClient.objects.filter(user_id=current.pk).select_related("created_by").first()
        if client is None:
            return Behind(person=current, via=via)
        via = via or client
        if client.created_by is None:
            return Behind(person=None, unknown=client, via=via)
        current = client.created_by
    return Behind(person=None, unknown=via, via=via)  # a chain this long is not trusted


def could_have_created(person: Any, client: ApiClient) -> bool:
    """True when ``person`` could have created ``client``: a platform operator, or holding
    ``staff.manage`` where the client works (its group; or its site, for a site-bound client).
    Memberships are read whatever the person's state today (they may have been switched off since)."""
    if person.is_superuser:
        return True
    where = Q(site__isnull=True)
    if client.site_id is not None:
        where |= Q(site_id=client.site_id)
    return (
        Membership.objects.filter(
            user_id=person.pk, group_id=client.group_id, role__in=roles_for("staff.manage")
        )
        .filter(where)
        .exists()
    )


def same_person(a: Behind, b: Behind) -> bool:
    """Could ``a`` and ``b`` be one person? Known people: compare them; an unknown creator: anyone who
    could have created that client; two unknown creators: yes (conservatively)."""
    if a.person is not None and b.person is not None:
        return bool(a.person.pk == b.person.pk)
    if a.person is not None and b.unknown is not None:
        return could_have_created(a.person, b.unknown)
    if b.person is not None and a.unknown is not None:
        return could_have_created(b.person, a.unknown)
    return True


def require_different_people(requester: Any, decider: Any) -> None:
    """Refuse with ``same_person`` when ``decider`` could be the person who made the request
    (directly, through an API client they created, or through a client whose creator is unknown).

    The caller has already refused a decider who *is* the requesting user (``own_request``).
    """
    a, b = behind(requester), behind(decider)
    if not same_person(a, b):
        return
    unknown = a.unknown or b.unknown
    if unknown is not None:
        raise ActionError(
            "same_person",
            _(
                "API client %(client)s has no recorded creator, so it counts as created by any admin "
                "of its site; the request and this decision may come from one person. Someone else "
                "must decide it (or create the client again: new clients record their creator)."
            )
            % {"client": unknown.name},
        )
    person = a.person or b.person
    raise ActionError(
        "same_person",
        _(
            "The request and this decision come from the same person (%(person)s), directly or "
            "through an API client they created. Someone else must decide it."
        )
        % {"person": person.get_username() if person is not None else "-"},
    )
