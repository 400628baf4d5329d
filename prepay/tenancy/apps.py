from __future__ import annotations

from typing import Any

from django.apps import AppConfig


def _forget_reach(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A membership written or deleted: the user object it was given for reads its roles again
    (``prepay.tenancy.scoping`` reads them once per user object)."""
    from prepay.tenancy.scoping import forget

    user = instance._state.fields_cache.get("user")  # the object given, never a fresh read
    if user is not None:
        forget(user)


class TenancyConfig(AppConfig):
    name = "prepay.tenancy"
    label = "tenancy"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from prepay.tenancy.models import Membership

        post_save.connect(_forget_reach, sender=Membership, dispatch_uid="tenancy.forget_reach.save")
        post_delete.connect(_forget_reach, sender=Membership, dispatch_uid="tenancy.forget_reach.delete")
