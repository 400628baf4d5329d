"""Scoping for the counter's views: find a row the user may see, check a capability where it lives.

Contract shared by every page of the app:

* a row outside what the user may see answers **404** (never confirms that it exists);
* a row the user may see but not act on with the page's capability answers **403**;
* a page without a row answers 403 when the user holds the capability nowhere.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import models
from django.http import Http404

from prepay.common.actions import scope_of
from prepay.tenancy.scoping import can, holds

M = TypeVar("M", bound=models.Model)


def visible(user: Any, queryset: models.QuerySet[M], pk: Any) -> M:
    """The row ``pk`` of ``queryset`` (a ScopedManager's queryset) if ``user`` may see it, else 404."""
    obj = queryset.for_user(user).filter(pk=pk).first()  # type: ignore[attr-defined]
    if obj is None:
        raise Http404
    return obj  # type: ignore[no-any-return]


def may(user: Any, capability: str, obj: models.Model) -> bool:
    """True when ``user`` holds ``capability`` on the site (or group) ``obj`` belongs to."""
    group_id, site_id = scope_of(obj)
    return can(user, capability, group_id=group_id, site_id=site_id)


def require_on(user: Any, capability: str, obj: models.Model) -> None:
    """403 unless :func:`may`."""
    if not may(user, capability, obj):
        raise DjangoPermissionDenied


def require_somewhere(user: Any, *capabilities: str) -> None:
    """403 unless ``user`` holds at least one of ``capabilities`` on some site or group."""
    if not any(holds(user, c) for c in capabilities):
        raise DjangoPermissionDenied
