"""Operator messages (网上交谈): staff write to a site, to their whole group or to one person,
optionally about an account. See docs/messaging.md."""
