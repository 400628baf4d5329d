"""Template context shared by every page: which navigation links the user may follow."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from prepay.tenancy.scoping import holds


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {}}
    return {"nav": {"import": holds(user, "import.run")}}
