"""Middleware shared by every screen and the API.

:class:`RefuseControlCharacters` turns away, before any view runs, a request whose path, query,
form fields, JSON strings or headers carry a NUL byte or another control character (tab, line feed
and carriage return excepted outside the path), or half of a UTF-16 surrogate pair. Nothing a person
types contains them; PostgreSQL cannot store NUL in text, and a stray control character in a name or
reference would end up on receipts and in exports. The answer is 400 with a clear message in the
request's language (JSON ``{"code": "control_characters", ...}`` under /api/), and nothing changes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape
from django.utils.translation import gettext as _

#: C0 controls but tab / LF / CR, DEL, C1 controls, lone surrogates
_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_BAD_IN_PATH = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _strings(value: Any) -> Iterator[str]:
    """Every string (keys included) inside a decoded JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _form_strings(request: HttpRequest) -> Iterator[str]:
    for data in (request.GET, request.POST):
        for key, values in data.lists():
            yield key
            yield from values


def _json_strings(request: HttpRequest) -> Iterator[str]:
    if not request.content_type or not request.content_type.endswith("json"):
        return
    try:
        yield from _strings(json.loads(request.body or b"null"))
    except (ValueError, UnicodeDecodeError):
        return  # not JSON: the view answers that


def control_character_in(request: HttpRequest) -> str | None:
    """Where the first forbidden character is (``path``, ``field``, ``header``), else None."""
    if _BAD_IN_PATH.search(request.path):
        return "path"
    for name, value in request.META.items():
        if name.startswith("HTTP_") and isinstance(value, str) and _BAD.search(value):
            return "header"
    try:
        for text in _form_strings(request):
            if _BAD.search(text):
                return "field"
    except Exception:  # a malformed form body: the view or CSRF check answers it
        return None
    if any(_BAD.search(text) for text in _json_strings(request)):
        return "field"
    return None


class RefuseControlCharacters:
    """See the module docstring."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if control_character_in(request) is None:
            return self.get_response(request)
        message = _(
            "The request contains a control character (such as NUL) that no field may hold; "
            "nothing was changed. Retype the value or remove the character."
        )
        if request.path.startswith("/api/"):
            return JsonResponse({"code": "control_characters", "message": message}, status=400)
        return HttpResponse(
            f'<p class="message error" role="alert" data-testid="control-characters">{escape(message)}</p>',
            status=400,
        )
