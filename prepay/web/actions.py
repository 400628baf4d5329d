"""Lifting sign-in lockouts (the back office's "Lift the wait" on failed sign-ins), audited."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from prepay.audit.actions import record_event
from prepay.common.errors import ActionError, PermissionDenied
from prepay.tenancy.models import Membership
from prepay.web.lockouts import managed_usernames


def _group_of(username: str) -> int | None:
    """The one group ``username``'s memberships lie in (None: nobody's name, or several groups)."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        return None
    groups = set(Membership.objects.filter(user=user).values_list("group_id", flat=True))
    return groups.pop() if len(groups) == 1 else None


@transaction.atomic
def do_lift_login_lockout(*, attempt_ids: Iterable[int], actor: Any) -> int:
    """Forget the failed sign-ins ``attempt_ids`` (rows of axes' ``AccessAttempt``): the user names
    and addresses they counted towards may sign in again at once (unless other rows still count).

    Platform operators may lift any row; a holder of ``staff.manage`` only rows whose user name is a
    staff user they manage (all of that user's memberships where the actor holds ``staff.manage``).
    Refused: an empty selection (``nothing_selected``), a row outside the actor's reach
    (``forbidden``: nothing is lifted). Rows already gone (expired, lifted by someone else) are
    skipped. One ``login.unlock`` audit event per row. Returns the number of rows removed.
    """
    ids = sorted({int(i) for i in attempt_ids})
    if not ids:
        raise ActionError("nothing_selected", _("Select the failed sign-ins to lift."))
    rows = list(AccessAttempt.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    allowed = managed_usernames(actor)
    if allowed is not None:
        names = set(
            allowed.filter(username__in=[r.username for r in rows]).values_list("username", flat=True)
        )
        if not actor.is_active or any(r.username not in names for r in rows):
            raise PermissionDenied(
                "forbidden",
                _(
                    "You may lift only the lockouts of staff you manage; a platform operator lifts "
                    "the others."
                ),
            )
    for row in rows:
        record_event(
            actor=actor,
            verb="login.unlock",
            object_type="axes.accessattempt",
            object_id=str(row.pk),
            object_repr=row.username or row.ip_address or "",
            group_id=_group_of(row.username) if row.username else None,
            after={"username": row.username, "address": row.ip_address, "failures": row.failures_since_start},
        )
    AccessAttempt.objects.filter(pk__in=[r.pk for r in rows]).delete()
    return len(rows)
