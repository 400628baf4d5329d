"""Creating, re-pointing and revoking API clients (each with its service user and memberships), audited.

A client records who created it (``created_by``, for the four-eyes rule in
:mod:`prepay.api.identity`). A client bound to a site sells only as a vending point of that site
(``point_other_site``); a group-wide client as any point of its group.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prepay.api.keys import new_key
from prepay.api.models import ApiClient, Scope
from prepay.audit.actions import record_event
from prepay.common.actions import locked
from prepay.common.errors import ActionError
from prepay.tenancy.choices import Role
from prepay.tenancy.models import Membership, PropertyGroup, Site
from prepay.tenancy.scoping import require
from prepay.vending.models import VendingPoint


@transaction.atomic
def do_create_api_client(
    *,
    group: PropertyGroup,
    name: str,
    scopes: list[str],
    roles: list[str],
    actor: Any,
    site: Site | None = None,
    point: VendingPoint | None = None,
) -> tuple[ApiClient, str]:
    """Create a client and its service user holding ``roles`` on ``site`` (or the whole group).

    Returns the client and the full key — shown once, never stored. The actor needs
    ``staff.manage`` where the memberships are granted (the client gets no more than a staff user
    the actor could create).
    """
    require(actor, "staff.manage", group_id=group.pk, site_id=site.pk if site else None)
    name = (name or "").strip()
    if not re.fullmatch(r"[\w.-]{1,60}", name):
        raise ActionError("invalid_name", _("A client name is 1–60 letters, digits, dots or dashes."))
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown or not scopes:
        raise ActionError(
            "invalid_scope",
            _("Unknown or missing scopes: %(s)s. Known: %(k)s.")
            % {"s": ", ".join(unknown) or "-", "k": ", ".join(Scope.values)},
        )
    bad_roles = sorted(set(roles) - set(Role.values))
    if bad_roles or not roles:
        raise ActionError(
            "invalid_role", _("Unknown or missing roles: %(r)s.") % {"r": ", ".join(bad_roles) or "-"}
        )
    if site is not None and site.group_id != group.pk:
        raise ActionError("wrong_site", _("The site does not belong to the group."))
    check_point(group_id=group.pk, site=site, point=point)
    if ApiClient.objects.filter(group=group, name=name).exists():
        raise ActionError("name_taken", _("An API client named %(n)s already exists.") % {"n": name})
    key, prefix, salt, digest = new_key()
    User = get_user_model()
    user = User.objects.create_user(username=f"api.{group.code}.{name}"[:150], password=None, is_staff=False)
    for role in roles:
        Membership.objects.create(user=user, group=group, site=site, role=role)
    client = ApiClient.objects.create(
        group=group,
        site=site,
        name=name,
        prefix=prefix,
        salt=salt,
        key_hash=digest,
        scopes=sorted(set(scopes)),
        point=point,
        user=user,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    record_event(
        actor=actor,
        verb="apiclient.create",
        obj=client,
        group_id=group.pk,
        site_id=site.pk if site else None,
        after={
            "name": name,
            "prefix": prefix,
            "scopes": client.scopes,
            "roles": sorted(roles),
            "point": point.code if point else None,
        },
    )
    return client, key


def check_point(*, group_id: int, site: Site | None, point: VendingPoint | None) -> None:
    """Refuse a vending point the client may not sell as: one of another group (``wrong_site``), or,
    for a client bound to ``site``, one of another site of the group (``point_other_site``)."""
    if point is None:
        return
    if point.site.group_id != group_id:
        raise ActionError("wrong_site", _("This vending point belongs to another group."))
    if site is not None and point.site_id != site.pk:
        raise ActionError(
            "point_other_site",
            _(
                "Vending point %(point)s belongs to site %(other)s; this API client works for site "
                "%(site)s only. Choose a point of %(site)s."
            )
            % {"point": point.code, "other": point.site.code, "site": site.code},
        )


@transaction.atomic
def do_set_api_client_point(*, client: ApiClient, point: VendingPoint | None, actor: Any) -> ApiClient:
    """Change the vending point the client sells as (None: none). Same rules as at creation; a
    revoked client is refused (``client_revoked``); choosing the current point changes nothing."""
    client = locked(ApiClient, client.pk)
    require(actor, "staff.manage", group_id=client.group_id, site_id=client.site_id)
    if not client.active:
        raise ActionError("client_revoked", _("This API client is revoked; create a new one."))
    check_point(group_id=client.group_id, site=client.site, point=point)
    if client.point_id == (point.pk if point else None):
        return client
    before = {"point": client.point.code if client.point else None}
    client.point = point
    client.save(update_fields=["point"])
    record_event(
        actor=actor,
        verb="apiclient.point",
        obj=client,
        group_id=client.group_id,
        site_id=client.site_id,
        before=before,
        after={"point": point.code if point else None},
    )
    return client


@transaction.atomic
def do_revoke_api_client(*, client: ApiClient, actor: Any) -> ApiClient:
    """Deactivate the client and its service user; its key stops working at once."""
    client = locked(ApiClient, client.pk)
    require(actor, "staff.manage", group_id=client.group_id, site_id=client.site_id)
    if not client.active:
        raise ActionError("already_revoked", _("This API client is already revoked."))
    client.active = False
    client.save(update_fields=["active"])
    user = client.user
    user.is_active = False
    user.save(update_fields=["is_active"])
    record_event(
        actor=actor,
        verb="apiclient.revoke",
        obj=client,
        group_id=client.group_id,
        site_id=client.site_id,
        after={"name": client.name, "prefix": client.prefix, "revoked_at": timezone.now().isoformat()},
    )
    return client
