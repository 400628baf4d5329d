"""Helpers shared by the routes: the caller, scoped lookups, idempotency keys, decimal strings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext as _

from prepay.api.auth import Caller
from prepay.common.actions import found
from prepay.common.errors import ActionError

M = TypeVar("M", bound=models.Model)

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_KEY = 64  # room for the caller's namespace within the 80 characters the tables keep


def caller(request: HttpRequest, scope: str) -> Caller:
    """The request's caller, refused with ``scope_missing`` when an API key lacks ``scope``."""
    who: Caller = request.auth  # type: ignore[attr-defined]
    who.need(scope)
    return who


def visible_rows(model: type[M], who: Caller, **lookup: Any) -> models.QuerySet[M]:
    """The rows matching ``lookup`` that the caller may see (not read yet: an action may lock them)."""
    return model._default_manager.for_user(who.user).filter(**lookup)  # type: ignore[attr-defined,no-any-return]


def visible(model: type[M], who: Caller, **lookup: Any) -> M:
    """The row matching ``lookup`` that the caller may see; 404 ``not_found`` otherwise — the same
    answer for a row that does not exist and one at another site, so nothing leaks."""
    return found(visible_rows(model, who, **lookup))


def idempotency_key(request: HttpRequest, who: Caller, *, required: bool = True) -> str | None:
    """The request's ``Idempotency-Key`` header, namespaced by caller; 400 when missing or malformed."""
    raw = (request.headers.get(IDEMPOTENCY_HEADER) or "").strip()
    if not raw:
        if not required:
            return None
        raise ActionError(
            "idempotency_key_required",
            _("This request moves money: send an Idempotency-Key header (1–%(n)s characters).")
            % {"n": MAX_KEY},
        )
    if len(raw) > MAX_KEY or not raw.isprintable():
        raise ActionError(
            "invalid_idempotency_key",
            _("The Idempotency-Key must be 1–%(n)s printable characters.") % {"n": MAX_KEY},
        )
    return f"{who.namespace}:{raw}"


def dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def normalised(value: Decimal | None, places: int) -> Decimal | None:
    """``value`` with exactly ``places`` decimals when it has no more (so 50 and 50.00 are one request);
    values with more places pass unchanged for the action to refuse."""
    if value is None or not value.is_finite():
        return value
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -places:
        return value.quantize(Decimal(1).scaleb(-places))
    return value
