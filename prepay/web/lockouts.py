"""Sign-in throttling with django-axes: limits, the client's address, the waiting page and who sees what.

Failed sign-ins are counted per user name and per address within the cool-off period
(``AXES_COOLOFF_TIME``, ``PREPAY_LOGIN_COOLOFF_MINUTES``). A user name is locked after
``AXES_FAILURE_LIMIT`` failures (``PREPAY_LOGIN_FAILURES_PER_USER``), an address after
``PREPAY_LOGIN_FAILURES_PER_ADDRESS`` (higher: at a one-PC office every clerk signs in from the same
address). While locked, every sign-in is refused, the right password too, with the same message
whether or not the user name exists; each refused try counts as a failure, so the wait starts again.

Axes compares one count with one limit. :class:`LoginThrottle` keeps that contract with two limits
by reporting the failures on the per-user scale: the user name's own count, or the per-user limit
itself once the address has reached its own limit.

Only the web sign-in (``/login/`` and the back office's) goes through ``authenticate``; API keys are
checked by ``prepay.api.auth`` and never counted here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import ngettext

from prepay.tenancy.models import Membership
from prepay.tenancy.scoping import reach


@dataclass(frozen=True)
class Limits:
    """Failures allowed per user name and per address within ``cool_off``."""

    per_user: int
    per_address: int
    cool_off: timedelta


def limits() -> Limits:
    """The limits in force (read from settings on every call, so tests may override them)."""
    return Limits(
        per_user=int(settings.AXES_FAILURE_LIMIT),
        per_address=int(getattr(settings, "PREPAY_LOGIN_FAILURES_PER_ADDRESS", 20)),
        cool_off=settings.AXES_COOLOFF_TIME,
    )


def _sum(rows: QuerySet[AccessAttempt]) -> int:
    return int(rows.aggregate(n=Sum("failures_since_start"))["n"] or 0)


def failures(username: str | None, address: str | None, since: datetime) -> tuple[int, int]:
    """(failures of ``username``, failures from ``address``) recorded since ``since``."""
    recent = AccessAttempt.objects.filter(attempt_time__gte=since)
    by_user = _sum(recent.filter(username=username)) if username else 0
    by_address = _sum(recent.filter(ip_address=address)) if address else 0
    return by_user, by_address


def locked_until(username: str | None, address: str | None, now: datetime | None = None) -> datetime | None:
    """When the lockout of ``username`` or ``address`` ends at the latest (None: not locked now)."""
    now = now or timezone.now()
    lim = limits()
    since = now - lim.cool_off
    by_user, by_address = failures(username, address, since)
    keys = []
    if username and by_user >= lim.per_user:
        keys.append(Q(username=username))
    if address and by_address >= lim.per_address:
        keys.append(Q(ip_address=address))
    if not keys:
        return None
    where = keys[0] if len(keys) == 1 else keys[0] | keys[1]
    last = AccessAttempt.objects.filter(where, attempt_time__gte=since).latest("attempt_time").attempt_time
    return last + lim.cool_off  # type: ignore[no-any-return]


class LoginThrottle(AxesDatabaseHandler):
    """Axes' database handler with separate limits for a user name and an address (see the module)."""

    def get_failures(self, request: Any, credentials: dict[str, Any] | None = None) -> int:
        lim = limits()
        since = request.axes_attempt_time - lim.cool_off
        username = get_client_username(request, credentials)
        by_user, by_address = failures(username, request.axes_ip_address, since)
        return max(by_user, lim.per_user if by_address >= lim.per_address else 0)


def client_address(request: HttpRequest) -> str | None:
    """The client's address: ``REMOTE_ADDR``, or behind ``PREPAY_PROXY_COUNT`` reverse proxies the
    entry of ``X-Forwarded-For`` the nearest of them added (entries further left can be forged)."""
    remote = request.META.get("REMOTE_ADDR")
    count = int(getattr(settings, "PREPAY_PROXY_COUNT", 0))
    if count <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    return hops[-count] if len(hops) >= count else remote


def wait_message() -> str:
    """What a person who must wait reads (the same whether or not the user name exists)."""
    minutes = max(1, int(limits().cool_off.total_seconds() // 60))
    return ngettext(
        "Too many failed sign-ins. Please wait %(minutes)s minute, then try again. "
        "An administrator can lift the wait sooner.",
        "Too many failed sign-ins. Please wait %(minutes)s minutes, then try again. "
        "An administrator can lift the wait sooner.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: the sign-in page again, status 429, with :func:`wait_message`."""
    username = request.POST.get("username", "") if request.method == "POST" else ""
    form = AuthenticationForm(request, initial={"username": username})
    context = {"form": form, "lockout": wait_message(), "next": request.POST.get("next", "")}
    return render(request, "web/login.html", context, status=429)


def managed_usernames(actor: Any) -> QuerySet[Any] | None:
    """User names whose lockouts ``actor`` may see and lift: None for a platform operator (every
    name, also names that are nobody's); otherwise the staff users all of whose memberships lie where
    the actor holds ``staff.manage`` (as for editing them, ``tenancy.actions.manages_user``)."""
    if actor.is_superuser:
        return None
    r = reach(actor, "staff.manage")
    inside = Q(group_id__in=r.group_ids) | Q(site_id__in=r.site_ids)
    mine = Membership.objects.filter(inside, user_id=OuterRef("pk"))
    others = Membership.objects.exclude(inside).filter(user_id=OuterRef("pk"))
    User = get_user_model()
    return (
        User.objects.filter(is_superuser=False)
        .filter(Exists(mine))
        .exclude(Exists(others))
        .values("username")
    )
