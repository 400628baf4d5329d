"""``{% unread_badge %}``: the top bar's unread count, which refreshes itself (htmx polling)."""

from __future__ import annotations

from typing import Any

from django import template

from prepay.messaging.queries import poll_seconds

register = template.Library()


@register.inclusion_tag("messaging/_badge.html", takes_context=True)
def unread_badge(context: Any) -> dict[str, Any]:
    """Render the badge with ``nav.unread`` (computed here, once, only when the badge is shown)."""
    nav = context.get("nav") or {}
    unread = nav.get("unread")
    return {"unread": unread() if callable(unread) else unread or 0, "poll": poll_seconds()}
