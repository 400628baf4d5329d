"""A user's memberships read by the query that reads the user (the API key's, for one): see
:func:`memberships_subquery`."""

from __future__ import annotations

from typing import Any

from django.db.models import Aggregate, JSONField, OuterRef, Subquery
from django.db.models.functions import JSONArray

from prepay.tenancy.models import Membership


class _JSONRows(Aggregate):
    """The rows' values as one JSON array: ``jsonb_agg`` on PostgreSQL, ``json_group_array`` on
    SQLite."""

    function = "JSONB_AGG"
    output_field = JSONField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(compiler, connection, function="JSON_GROUP_ARRAY", **extra)


def memberships_subquery(user_ref: str) -> Subquery:
    """The memberships of the user at ``user_ref`` (a path of the outer query) as one JSON array of
    ``[group, site, role]`` (None: no membership), for a query that reads the user anyway: hand the
    value to ``scoping.keep_memberships`` and the request reads no memberships of its own."""
    rows = (
        Membership.objects.filter(user_id=OuterRef(user_ref))
        .order_by()
        .values("user_id")
        .annotate(rows=_JSONRows(JSONArray("group_id", "site_id", "role")))
        .values("rows")
    )
    return Subquery(rows, output_field=JSONField())
