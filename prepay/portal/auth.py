"""The portal's own sign-in state, apart from staff authentication.

A portal request is signed in when its ``prepay_portal`` cookie (HttpOnly, SameSite=Lax, path
``/portal/``, Secure with ``PREPAY_HTTPS``) names a live :class:`PortalSession`. ``request.user``
(staff) is never consulted: a staff member signed in in the same browser sees nothing more here, and
a customer gets no staff page. Every portal page is ``Cache-Control: no-store``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from prepay.portal import conf
from prepay.portal.actions import session_for
from prepay.portal.models import PortalSession

PATH = "/portal/"


def portal_session(request: HttpRequest) -> PortalSession | None:
    """The request's live portal session (looked up once per request)."""
    if not hasattr(request, "_portal_session"):
        request._portal_session = session_for(request.COOKIES.get(conf.COOKIE))  # type: ignore[attr-defined]
    return request._portal_session  # type: ignore[attr-defined,no-any-return]


def set_session_cookie(response: HttpResponse, key: str) -> None:
    response.set_cookie(
        conf.COOKIE,
        key,
        path=PATH,
        httponly=True,
        samesite="Lax",
        secure=bool(getattr(settings, "SESSION_COOKIE_SECURE", False)),
    )


def clear_session_cookie(response: HttpResponse) -> None:
    response.delete_cookie(conf.COOKIE, path=PATH, samesite="Lax")


def no_store(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        add_never_cache_headers(response)
        response["Cache-Control"] = "no-store, private"
        return response

    return wrapped


def customer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Pages for a signed-in customer: others go to the sign-in page (JSON: 401). The view finds the
    session as ``request.portal``."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        session = portal_session(request)
        if session is None:
            if request.path.endswith(".json"):
                return JsonResponse({"code": "signed_out", "message": _("Sign in again.")}, status=401)
            response = redirect(reverse("portal:signin"))
            if conf.COOKIE in request.COOKIES:
                clear_session_cookie(response)
            return response
        request.portal = session  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return no_store(wrapped)
