"""Creating and revoking API clients (each with its service user and memberships), audited."""

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
    if point is not None and point.site.group_id != group.pk:
        raise ActionError("wrong_site", _("This vending point belongs to another group."))
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
