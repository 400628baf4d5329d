"""Delivery through one channel. Each sender returns the provider's reference or raises DeliveryError."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from typing import Any

from django.core.mail import send_mail

from prepay.notify.models import Channel, ChannelKind, Notification

TIMEOUT = 10.0


class DeliveryError(Exception):
    """The channel refused or could not be reached; ``retry`` says whether trying again may help."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        self.retry = retry
        super().__init__(message)


def _post_json(url: str, payload: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    if not url.startswith(("http://", "https://")):
        raise DeliveryError(f"not an http(s) URL: {url!r}", retry=False)
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    req = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=data, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:  # noqa: S310
            body = resp.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code}", retry=exc.code >= 500 or exc.code == 429) from None
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"unreachable: {exc}") from None
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def sign(secret: str, body: bytes) -> str:
    """The webhook signature header value: ``sha256=<hex HMAC of the body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send(channel: Channel, n: Notification) -> str:
    """Deliver ``n`` through ``channel``; the provider's message id (or "")."""
    cfg = channel.config or {}
    if channel.kind == ChannelKind.SMS:
        if not n.recipient:
            raise DeliveryError("the customer has no phone number", retry=False)
        headers = {"Authorization": f"Bearer {cfg['token']}"} if cfg.get("token") else {}
        reply = _post_json(
            str(cfg.get("url", "")),
            {"phone": n.recipient, "text": n.body, "sign": cfg.get("sign", "")},
            headers,
        )
        if reply.get("ok") is False:
            raise DeliveryError(str(reply.get("error", "refused by the gateway")), retry=False)
        return str(reply.get("id", ""))
    if channel.kind == ChannelKind.WEBHOOK:
        payload = {
            "event": n.key,
            "account": n.context.get("account", ""),
            "subject": n.subject,
            "text": n.body,
            "data": n.context,
        }
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"X-Prepay-Signature": sign(str(cfg["secret"]), body)} if cfg.get("secret") else {}
        reply = _post_json(str(cfg.get("url", "")), payload, headers)
        return str(reply.get("id", ""))
    if channel.kind == ChannelKind.EMAIL:
        if not n.recipient:
            raise DeliveryError("the customer has no email address", retry=False)
        try:
            send_mail(n.subject, n.body, cfg.get("from") or None, [n.recipient])
        except OSError as exc:
            raise DeliveryError(f"mail server: {exc}") from None
        return ""
    raise DeliveryError(f"unknown channel kind {channel.kind!r}", retry=False)


def send_mail_direct(n: Notification) -> str:
    """E-mail ``n`` to its recipient through Django's mail backend (``PREPAY_EMAIL_URL``), from
    ``DEFAULT_FROM_EMAIL``: staff notifications at a site without an e-mail channel."""
    try:
        send_mail(n.subject, n.body, None, [n.recipient])
    except OSError as exc:
        raise DeliveryError(f"mail server: {exc}") from None
    return ""
