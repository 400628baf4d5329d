"""Who is calling: an integration with an API key, or a signed-in user of the browser UI.

* ``Authorization: Bearer <key>`` or ``X-Api-Key: <key>``: the key's :class:`ApiClient`; the request
  runs as the client's service user, limited further by the client's scopes.
* the Django session cookie: the signed-in user; CSRF is enforced for unsafe methods (a page of
  another origin must not be able to sell with the cashier's cookie).

Every route receives ``request.auth``, a :class:`Caller`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security import APIKeyCookie, APIKeyHeader, HttpBearer

from prepay.api.keys import matches, split_key
from prepay.api.models import ApiClient
from prepay.common.errors import ActionError
from prepay.tenancy.memberships import memberships_subquery
from prepay.tenancy.scoping import keep_memberships

#: last_used_at is refreshed at most this often (one UPDATE per client per minute, not per request)
TOUCH_EVERY = timedelta(seconds=60)


class ScopeMissing(ActionError):
    status = 403


@dataclass
class Caller:
    """The acting user and, for API-key calls, the client (None for browser sessions)."""

    user: Any
    client: ApiClient | None = None

    def need(self, scope: str) -> None:
        """Refuse with 403 ``scope_missing`` when an API client lacks ``scope`` (sessions pass; what a
        user may do is decided by the actions' permission checks)."""
        if self.client is not None and not self.client.has_scope(scope):
            raise ScopeMissing(
                "scope_missing",
                _("This API key lacks the scope %(s)s.") % {"s": scope},
                scope=scope,
            )

    @property
    def namespace(self) -> str:
        """Prefix for idempotency keys: two clients choosing the same key never meet."""
        return f"c{self.client.pk}" if self.client is not None else f"u{self.user.pk}"


def client_for_key(key: str) -> ApiClient | None:
    """The active client holding ``key`` (with an active service user), else None."""
    parts = split_key(key.strip())
    if parts is None:
        return None
    prefix, secret = parts
    client = (
        ApiClient.objects.select_related("user", "point__site")
        .annotate(user_memberships=memberships_subquery("user_id"))  # the caller's reach, same query
        .filter(prefix=prefix, active=True, user__is_active=True)
        .first()
    )
    if client is None or not matches(client.salt, client.key_hash, secret):
        return None
    keep_memberships(client.user, client.user_memberships)
    now = timezone.now()
    if client.last_used_at is None or now - client.last_used_at > TOUCH_EVERY:
        ApiClient.objects.filter(pk=client.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOUCH_EVERY)
        ).update(last_used_at=now)
    return client


def _caller(request: HttpRequest, key: str | None) -> Caller | None:
    if not key:
        return None
    client = client_for_key(key)
    if client is None:
        return None
    request.user = client.user
    return Caller(client.user, client)


class BearerKey(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Caller | None:
        return _caller(request, token)


class HeaderKey(APIKeyHeader):
    param_name = "X-Api-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> Caller | None:
        return _caller(request, key)


class Session(APIKeyCookie):
    """Django's session, with CSRF checked (``csrf=True``) on unsafe methods."""

    param_name = settings.SESSION_COOKIE_NAME

    def authenticate(self, request: HttpRequest, key: str | None) -> Caller | None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return Caller(user)
        return None


AUTH = [BearerKey(), HeaderKey(), Session(csrf=True)]
