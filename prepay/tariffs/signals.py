"""Signals of the tariffs app, for the apps above it that keep data per tariff version."""

from __future__ import annotations

from django.dispatch import Signal

#: a new version of a tariff was saved (``base``: the version it follows, ``row``: the new one,
#: ``after``: the audit event's ``after`` dict, which a receiver may add its carried-over data to);
#: sent inside the saving transaction, before the audit event is written
version_added = Signal()
