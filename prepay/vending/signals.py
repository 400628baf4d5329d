"""Signals other apps listen to (billing restores supply when an account is credited)."""

from __future__ import annotations

from django.dispatch import Signal

#: sent inside the transaction, after a payment credits a customer account; kwargs ``account``, ``entry``
account_credited = Signal()
