"""The one place adapters talk to a provider over HTTP (placing orders, refunds).

Requests go to the address in the provider's settings (``api_base`` / ``gateway``), so a test points
them at a local server; nothing reaches a real provider unless an administrator configured it.
Errors become :class:`ProviderUnavailable` with the status and the provider's own message, never with
a request body (which may carry signatures) or a key.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from prepay.payments.adapters.base import ProviderUnavailable

TIMEOUT = 10.0


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"{}")
        except ValueError:
            return {}


def request(method: str, url: str, *, body: bytes | None = None, headers: dict[str, str]) -> Response:
    """Send one request; any answer (2xx or not) is returned, an unreachable provider raises."""
    if not url.startswith(("https://", "http://")):
        raise ProviderUnavailable("provider_unreachable", _("The provider's address is not http(s)."))
    req = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 - checked
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:  # noqa: S310
            return Response(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
    except urllib.error.HTTPError as exc:
        return Response(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ProviderUnavailable(
            "provider_unreachable",
            _("The payment provider cannot be reached (%(why)s); nothing was changed. Try again later.")
            % {"why": str(reason)[:100]},
        ) from None


def refused(resp: Response, message: str = "") -> ProviderUnavailable:
    """The provider answered but refused: its status and message, for people."""
    data = resp.json()
    said = message or str(data.get("message") or data.get("msg") or data.get("sub_msg") or "")[:200]
    return ProviderUnavailable(
        "provider_refused",
        _("The payment provider refused the request (HTTP %(s)s: %(m)s); nothing was changed.")
        % {"s": resp.status, "m": said or "-"},
    )
