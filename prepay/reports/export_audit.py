"""Who took which report's rows out of the system: one ``report.export`` audit event per file made —
a direct Excel or PDF download, a background export when its file is whole, a reconciliation sheet —
naming the report, the format, the rows and the filters (the query string, as asked).

The event lies in the site the filters chose, else in the one site or group the user's memberships
lie in (an auditor of that group sees it), else in none (a user of several groups: platform level).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from prepay.audit.actions import record_event
from prepay.tenancy.models import Membership, Site


def site_chosen(fs: Any) -> Site | None:
    """The site a report's valid filters chose (None: no site filter, or every site in scope)."""
    return fs.form.cleaned_data.get("site") or None


def _scope(user: Any, site: Site | None) -> tuple[int | None, int | None]:
    """(group id, site id) of the event."""
    if site is not None:
        return site.group_id, site.pk
    pairs = set(Membership.objects.filter(user=user).values_list("group_id", "site_id"))
    groups = {g for g, _s in pairs}
    sites = {s for _g, s in pairs}
    group = groups.pop() if len(groups) == 1 else None
    return group, (sites.pop() if group is not None and len(sites) == 1 else None)


def record_export(
    *, user: Any, report: str, title: Any, fmt: str, rows: int, filters: str, site: Site | None = None
) -> None:
    """Append the event in its own transaction on the primary database (after the file is made:
    a report read from the replica writes nothing there)."""
    group_id, site_id = _scope(user, site)
    with transaction.atomic():
        record_event(
            actor=user,
            verb="report.export",
            object_type="report",
            object_id=report,
            object_repr=str(title),
            group_id=group_id,
            site_id=site_id,
            after={"report": report, "format": fmt, "rows": rows, "filters": filters},
        )


__all__ = ["record_export", "site_chosen"]
