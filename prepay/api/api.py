"""The NinjaAPI instance at /api/ (OpenAPI at /api/docs, /api/openapi.json) and its error contract.

Every error is JSON ``{"code": "...", "message": "..."}``: ``code`` is stable (clients match on it),
``message`` is in the request's language (LocaleMiddleware reads Accept-Language). Status: 400 a
refused or invalid request, 401 no valid credentials, 403 role or scope, 404 not found or outside
the caller's scope (the same answer, so nothing leaks about other sites), 409 a conflict (an
idempotency key reused for another request, a request already decided …), 422 a body or query that
does not fit the schema.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from prepay.api.auth import AUTH
from prepay.common.errors import ActionError

log = logging.getLogger(__name__)

#: ActionError codes that mean "conflicts with the current state" (HTTP 409)
CONFLICTS = frozenset(
    {
        "idempotency_conflict",
        "already_requested",
        "already_decided",
        "already_revoked",
        "not_reversible",
        "shift_already_open",
    }
)

#: answers any operation may give, documented on each one (the fuzz run checks that every status code
#: an operation answers is documented): a refused request, no credentials, the wrong role or site, a
#: row not found (or outside the caller's sites: the same answer), and a request outside the schema
COMMON_ERRORS = {
    "400": "Refused: a business rule, an invalid amount or a control character in the request",
    "401": "No valid credentials",
    "403": "The caller's role, scope or site does not allow this",
    "404": "Not found, or outside the caller's sites",
    "422": "The body, query or path does not fit the schema",
}
_ERROR_SCHEMA = {
    "title": "ApiError",
    "type": "object",
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["code", "message"],
}


class PrepayAPI(NinjaAPI):
    """NinjaAPI whose schema documents :data:`COMMON_ERRORS` on every operation."""

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema.setdefault("components", {}).setdefault("schemas", {})["ApiError"] = _ERROR_SCHEMA
        ref = {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                declared = {str(code) for code in responses}
                for status, description in COMMON_ERRORS.items():
                    if status not in declared:
                        responses[int(status)] = {"description": description, "content": ref}
        return schema


api = PrepayAPI(
    title="Prepay vending API",
    version="1",
    description=(
        "Account and meter lookup, price quotes, vends, receipts, reversals, refunds, balances and "
        "agent floats. Authenticate with `Authorization: Bearer <key>` (or `X-Api-Key`) or the browser "
        "session (CSRF token required for POST). Money-moving requests need an `Idempotency-Key` "
        "header. Money and energy are decimal strings. Errors: `{code, message}`."
    ),
    auth=AUTH,
    urls_namespace="api",
)


def error(request: HttpRequest, status: int, code: str, message: Any, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": str(message), **extra}, status=status)


@api.exception_handler(ActionError)
def _action_error(request: HttpRequest, exc: ActionError) -> HttpResponse:
    status = 409 if exc.code in CONFLICTS else exc.status
    return error(request, status, exc.code, exc.message)


@api.exception_handler(NinjaValidationError)
def _schema_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    details = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": e.get("type", "")}
        for e in exc.errors
    ]
    fields = ", ".join(".".join(d["loc"][1:] or d["loc"]) for d in details)
    return error(
        request,
        422,
        "invalid_request",
        _("The request does not fit the schema: %(f)s.") % {"f": fields},
        errors=details,
    )


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error(
        request, 401, "unauthenticated", _("Sign in, or send a valid API key (Authorization: Bearer …).")
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 403 and "CSRF" in str(exc):
        return error(request, 403, "csrf_failed", _("The CSRF token is missing or wrong; reload the page."))
    return error(request, exc.status_code, "http_error", str(exc))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error(request, 404, "not_found", _("Not found."))


from prepay.api.routers import accounts, reversals, vending  # noqa: E402  (routes need `api` above)

api.add_router("/", accounts.router)
api.add_router("/", vending.router)
api.add_router("/", reversals.router)
