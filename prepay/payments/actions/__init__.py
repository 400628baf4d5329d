"""Every write of online payments (orders, notifications, providers, statements), each with its audit
event in the same transaction. One import path for callers: ``prepay.payments.actions``."""

from __future__ import annotations

from prepay.payments.actions.orders import (
    do_confirm_payment,
    do_create_order,
    do_refund_order,
    do_sell_order,
    handle_notification,
    new_order_number,
    providers_for,
    sale_key,
    start_checkout,
)
from prepay.payments.actions.providers import (
    check_credentials,
    do_add_provider,
    do_set_provider_active,
    do_set_provider_credentials,
)
from prepay.payments.actions.statements import do_import_statement, parse_statement

__all__ = [
    "check_credentials",
    "do_add_provider",
    "do_confirm_payment",
    "do_create_order",
    "do_import_statement",
    "do_refund_order",
    "do_sell_order",
    "do_set_provider_active",
    "do_set_provider_credentials",
    "handle_notification",
    "new_order_number",
    "parse_statement",
    "providers_for",
    "sale_key",
    "start_checkout",
]
