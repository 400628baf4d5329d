"""Errors raised by actions: a stable machine code and a human message (translatable)."""

from __future__ import annotations

from typing import Any


class ActionError(Exception):
    """A business rule refused the request; nothing was changed.

    ``code`` is stable (API clients and tests match on it); ``message`` is for people and is built
    with gettext so it follows the active language.
    """

    status = 400

    def __init__(self, code: str, message: Any, **params: Any) -> None:
        self.code = code
        self.message = message
        self.params = params
        super().__init__(f"{code}: {message}")

    def __str__(self) -> str:
        return str(self.message)


class PermissionDenied(ActionError):
    """The actor's role or site memberships do not allow this."""

    status = 403


class NotFound(ActionError):
    status = 404
