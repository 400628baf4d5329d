"""A user's memberships read by the query that reads the user (the API key's, for one): see
:func:`memberships_subquery`."""

from __future__ import annotations

from django.db.models import JSONField, OuterRef, Subquery
from django.db.models.functions import JSONArray

from prepay.common.jsonrows import JSONRows
from prepay.tenancy.models import Membership


def memberships_subquery(user_ref: str) -> Subquery:
    """The memberships of the user at ``user_ref`` (a path of the outer query) as one JSON array of
    ``[group, site, role]`` (None: no membership), for a query that reads the user anyway: hand the
    value to ``scoping.keep_memberships`` and the request reads no memberships of its own."""
    rows = (
        Membership.objects.filter(user_id=OuterRef(user_ref))
        .order_by()
        .values("user_id")
        .annotate(rows=JSONRows(JSONArray("group_id", "site_id", "role")))
        .values("rows")
    )
    return Subquery(rows, output_field=JSONField())
