"""Who may see and do what, where: the single place that turns memberships into filters and checks.

Every view, API route, export, admin page and action goes through :func:`scope_q` (lists) or
:func:`require` (a change on one site). See docs/permissions.md for the matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from prepay.common.errors import PermissionDenied
from prepay.tenancy.permissions import CAPABILITIES, roles_for


@dataclass(frozen=True)
class Reach:
    """The groups a user holds a capability on as a whole, and the single sites."""

    all: bool
    group_ids: frozenset[int]
    site_ids: frozenset[int]
    site_group_ids: frozenset[int]  # groups of the single sites (to see group-wide master data)


def reach(user: Any, capability: str = "view") -> Reach:
    """Compute (and cache on the user object for this request) where ``user`` holds ``capability``."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return Reach(False, frozenset(), frozenset(), frozenset())
    if user.is_superuser:
        return Reach(True, frozenset(), frozenset(), frozenset())
    cache: dict[str, Reach] = user.__dict__.setdefault("_prepay_reach", {})
    if capability in cache:
        return cache[capability]
    roles = roles_for(capability)
    groups: set[int] = set()
    sites: set[int] = set()
    site_groups: set[int] = set()
    for group_id, site_id, role in _memberships(user):
        if role not in roles:
            continue
        if site_id is None:
            groups.add(group_id)
        else:
            sites.add(site_id)
            site_groups.add(group_id)
    result = Reach(False, frozenset(groups), frozenset(sites), frozenset(site_groups))
    cache[capability] = result
    return result


def _memberships(user: Any) -> list[tuple[int, int | None, str]]:
    """The user's memberships as (group, site, role), read once per user object (one request): every
    capability's reach is computed from the same rows, so a page asking about ten capabilities (the
    navigation does) reads them once."""
    rows: list[tuple[int, int | None, str]] | None = user.__dict__.get("_prepay_memberships")
    if rows is None:
        rows = list(user.memberships.values_list("group_id", "site_id", "role"))
        user.__dict__["_prepay_memberships"] = rows
    return rows


def keep_memberships(user: Any, rows: list[list[Any]] | None) -> None:
    """Keep ``rows`` (a ``prepay.tenancy.memberships.memberships_subquery`` value) as ``user``'s
    memberships for this user object, as :func:`_memberships` would have read them."""
    user.__dict__["_prepay_memberships"] = [
        (int(group), None if site is None else int(site), str(role)) for group, site, role in rows or []
    ]
    user.__dict__.pop("_prepay_reach", None)


def holds(user: Any, capability: str) -> bool:
    """True when ``user`` holds ``capability`` somewhere (a group or a single site)."""
    r = reach(user, capability)
    return r.all or bool(r.group_ids or r.site_ids)


def forget(user: Any) -> None:
    """Drop the cached reach (after memberships change)."""
    user.__dict__.pop("_prepay_reach", None)
    user.__dict__.pop("_prepay_memberships", None)


def scope_q(user: Any, model: Any, capability: str = "view") -> Q:
    """A filter keeping the rows of ``model`` on which ``user`` holds ``capability``.

    ``model.scope_group`` / ``model.scope_site`` are lookup paths to the row's group and site
    (``scope_site`` None for group-wide models; a row whose site is NULL is group-wide).
    Site-level members see group-wide rows of their group but only change them with a group role.
    """
    return reach_q(reach(user, capability), model, capability)


def reach_q(r: Reach, model: Any, capability: str) -> Q:
    """:func:`scope_q` of a reach already computed (``prepay.common.actions.locked_one`` builds it
    from stand-in ids, so the ids are taken in sorted order)."""
    if r.all:
        return Q()
    g_path: str = model.scope_group
    s_path: str | None = model.scope_site
    q = Q(**{f"{g_path}__in": sorted(r.group_ids)}) if r.group_ids else Q(pk__in=[])
    if s_path is not None and r.site_ids:
        q |= Q(**{f"{s_path}__in": sorted(r.site_ids)})
    if capability == "view" and r.site_group_ids:
        if s_path is None:
            q |= Q(**{f"{g_path}__in": sorted(r.site_group_ids)})
        elif s_path != "pk":
            q |= Q(**{f"{s_path}__isnull": True, f"{g_path}__in": sorted(r.site_group_ids)})
    return q


def can(user: Any, capability: str, *, group_id: int | None, site_id: int | None = None) -> bool:
    """True when ``user`` holds ``capability`` on that site (or group-wide when site_id is None)."""
    r = reach(user, capability)
    if r.all:
        return True
    if group_id in r.group_ids:
        return True
    return site_id is not None and site_id in r.site_ids


def require_any(
    user: Any, capabilities: tuple[str, ...], *, group_id: int | None, site_id: int | None = None
) -> None:
    """Pass when the user holds any of ``capabilities`` there; else refuse naming the first."""
    if not any(can(user, c, group_id=group_id, site_id=site_id) for c in capabilities):
        require(user, capabilities[0], group_id=group_id, site_id=site_id)


def require(user: Any, capability: str, *, group_id: int | None, site_id: int | None = None) -> None:
    """Raise :class:`PermissionDenied` unless :func:`can`; the message names the missing capability."""
    if not can(user, capability, group_id=group_id, site_id=site_id):
        desc = CAPABILITIES[capability][1]
        raise PermissionDenied(
            "forbidden",
            _("You are not allowed to do this here: %(what)s.") % {"what": desc},
            capability=capability,
        )
