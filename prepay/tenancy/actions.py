"""Staff and memberships: create staff users, grant and withdraw roles (all audited)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from prepay.audit.actions import record_event, snapshot
from prepay.common.actions import full_clean
from prepay.common.errors import ActionError
from prepay.tenancy.choices import Role
from prepay.tenancy.models import Membership, PropertyGroup, Site
from prepay.tenancy.scoping import can, forget, holds, require

User = get_user_model()


def manages_user(actor: Any, user: Any) -> bool:
    """True when ``actor`` may edit ``user``: never a superuser (unless the actor is one), and every
    membership of the user lies where the actor holds "staff.manage"."""
    if actor.is_superuser:
        return True
    if user.is_superuser or not holds(actor, "staff.manage"):
        return False
    return all(
        can(actor, "staff.manage", group_id=g, site_id=s)
        for g, s in user.memberships.values_list("group_id", "site_id")
    )


@transaction.atomic
def do_save_membership(membership: Membership, *, actor: Any) -> Membership:
    """Grant (or change) a role; the actor needs "staff.manage" where it applies, before and after."""
    before = None
    if membership.pk is not None:
        old = Membership.objects.select_for_update().filter(pk=membership.pk).first()
        if old is not None:
            require(actor, "staff.manage", group_id=old.group_id, site_id=old.site_id)
            before = snapshot(old)
    require(actor, "staff.manage", group_id=membership.group_id, site_id=membership.site_id)
    if membership.user.is_superuser and not actor.is_superuser:
        raise ActionError("superuser", _("Only a platform operator may change a superuser."))
    full_clean(membership)
    membership.save()
    forget(membership.user)
    record_event(
        actor=actor,
        verb="membership.update" if before else "membership.create",
        obj=membership,
        group_id=membership.group_id,
        site_id=membership.site_id,
        before=before,
        after=snapshot(membership),
    )
    return membership


@transaction.atomic
def do_delete_membership(membership: Membership, *, actor: Any) -> None:
    """Withdraw a role (audited)."""
    require(actor, "staff.manage", group_id=membership.group_id, site_id=membership.site_id)
    before, pk, text = snapshot(membership), str(membership.pk), str(membership)
    group_id, site_id = membership.group_id, membership.site_id
    membership.delete()
    record_event(
        actor=actor,
        verb="membership.delete",
        object_type="tenancy.membership",
        object_id=pk,
        object_repr=text,
        group_id=group_id,
        site_id=site_id,
        before=before,
    )


@transaction.atomic
def do_create_staff_user(
    *,
    username: str,
    password: str,
    group: PropertyGroup,
    site: Site | None,
    role: str,
    actor: Any,
    **fields: Any,
) -> Any:
    """Create an active staff user with a first membership (so someone manages them from the start)."""
    require(actor, "staff.manage", group_id=group.pk, site_id=site.pk if site else None)
    if site is not None and site.group_id != group.pk:
        raise ActionError("wrong_group", _("The site does not belong to the group."))
    if role not in Role.values:
        raise ActionError("invalid", _("Unknown role."))
    if User.objects.filter(username=username).exists():
        raise ActionError("duplicate", _("User name %(u)s is taken.") % {"u": username})
    user = User(username=username, is_staff=True, is_active=True, is_superuser=False, **fields)
    user.set_password(password)
    full_clean(user, exclude=["password"])
    user.save()
    membership = Membership.objects.create(user=user, group=group, site=site, role=role)
    record_event(
        actor=actor,
        verb="user.create",
        obj=user,
        group_id=group.pk,
        site_id=site.pk if site else None,
        after=snapshot(user, ["id", "username", "first_name", "last_name", "email", "is_active"])
        | {"membership": str(membership)},
    )
    return user


@transaction.atomic
def do_save_staff_user(user: Any, *, actor: Any) -> Any:
    """Save a staff user's details; never grants superuser; only users the actor manages."""
    old = User.objects.select_for_update().get(pk=user.pk)
    if not manages_user(actor, old):
        raise ActionError("forbidden", _("You do not manage this user."))
    if user.is_superuser != old.is_superuser and not actor.is_superuser:
        raise ActionError("superuser", _("Only a platform operator may grant superuser status."))
    fields = ["username", "first_name", "last_name", "email", "is_active", "is_staff"]
    before = snapshot(old, fields)
    full_clean(user, exclude=["password"])
    user.save()
    first = user.memberships.first()
    record_event(
        actor=actor,
        verb="user.update",
        obj=user,
        group_id=first.group_id if first else None,
        site_id=first.site_id if first else None,
        before=before,
        after=snapshot(user, fields),
    )
    return user
