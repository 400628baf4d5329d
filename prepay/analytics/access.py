"""Who uses the analysis screens, built on the existing capabilities (prepay/tenancy/permissions.py):

* **see** suspicious cases and the energy analysis — ``reports.view`` (admin, finance, auditor) or
  ``account.lifecycle`` / ``fees.manage`` (clerks, who visit the accounts): :data:`VIEW`;
* **mark a case as checked** — ``account.lifecycle`` (clerks) or ``meter.stock`` (admins): :data:`CHECK`;
* **thresholds and meter energy items** — ``masterdata.change`` (the site's admin, in the back office).

Cashiers hold none of these: every page answers 403. A case or site outside the user's sites answers
404, like every other object in Prepay.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce, wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse

from prepay.common.actions import scope_of
from prepay.tenancy.models import Site
from prepay.tenancy.scoping import can, holds, scope_q

VIEW = ("reports.view", "account.lifecycle", "fees.manage")
CHECK = ("account.lifecycle", "meter.stock")
SETUP = "masterdata.change"

View = Callable[..., HttpResponse]


def scoped(user: Any, model: type[Model], capabilities: tuple[str, ...] = VIEW) -> Q:
    """Rows of ``model`` on whose site the user holds any of ``capabilities``."""
    return reduce(lambda a, b: a | b, (scope_q(user, model, c) for c in capabilities))


def sites(user: Any, capabilities: tuple[str, ...] = VIEW) -> QuerySet[Site]:
    return (
        Site.objects.filter(scoped(user, Site, capabilities))
        .select_related("group")
        .order_by("group__code", "code")
    )


def viewer_required(view: View) -> View:
    """Sign-in, then 403 unless the user may see the analysis somewhere."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not any(holds(request.user, c) for c in VIEW):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def visible(user: Any, queryset: QuerySet[Any], pk: Any) -> Any:
    """The row ``pk`` if the user may see it (any of :data:`VIEW` on its site), else 404."""
    obj = queryset.filter(scoped(user, queryset.model)).filter(pk=pk).first()
    if obj is None:
        raise Http404
    return obj


def may(user: Any, capabilities: tuple[str, ...], obj: Model) -> bool:
    group_id, site_id = scope_of(obj)
    return any(can(user, c, group_id=group_id, site_id=site_id) for c in capabilities)
