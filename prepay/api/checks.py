"""Consistency checks of API clients, for ``prepay db check`` (prepay/dbcare/services.py calls them).

Rows written before a rule existed (or by hand) can break it; the actions refuse new ones.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import F
from django.utils.translation import gettext as _

from prepay.api.models import ApiClient


def misbound_clients(using: str = "default") -> Iterator[tuple[str, str]]:
    """Yield ``(where, what)`` for every API client whose vending point is at another site than the
    one the client is bound to, or in another group. ``where`` names the client (group/name and key
    prefix), ``what`` says what is wrong and how to mend it, in the active language.

    Cost: one query, ordered by client id.
    """
    rows = (
        ApiClient.objects.using(using)
        .filter(point__isnull=False)
        .exclude(site__isnull=True, point__site__group_id=F("group_id"))
        .exclude(site__isnull=False, point__site_id=F("site_id"))
        .select_related("group", "site", "point__site")
        .order_by("pk")
    )
    for client in rows:
        point = client.point
        assert point is not None  # filtered above
        where = f"{client.group.code}/{client.name} ({client.prefix})"
        if client.site is None:
            what = _("sells as vending point %(point)s of another group") % {"point": point.code}
        else:
            what = _(
                "bound to site %(site)s but sells as vending point %(point)s of site %(other)s; "
                "choose a point of %(site)s in the back office or revoke the client"
            ) % {"site": client.site.code, "point": point.code, "other": point.site.code}
        yield where, what
