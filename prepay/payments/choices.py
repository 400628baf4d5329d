from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ProviderKind(models.TextChoices):
    WECHAT = "wechat", _("WeChat Pay")
    ALIPAY = "alipay", _("Alipay")
    SIMULATED = "simulated", _("Simulated provider (demo and tests)")


class OrderStatus(models.TextChoices):
    """Where an online order stands. Only a signature-checked, amount-matching notification of a paid
    order moves it from ``created`` to ``sold``; a paid order that cannot be sold waits in
    ``attention`` for finance (sell it later, or refund it), so no payment is ever lost."""

    CREATED = "created", _("Awaiting payment")
    SOLD = "sold", _("Paid and sold")
    ATTENTION = "attention", _("Paid, not sold: needs a decision")
    REFUNDED = "refunded", _("Refunded")


class Outcome(models.TextChoices):
    """What a verified notification did."""

    SOLD = "sold", _("Sold")
    DUPLICATE = "duplicate", _("Already handled")
    ATTENTION = "attention", _("Paid, sale refused: queued for finance")
    AMOUNT_MISMATCH = "amount_mismatch", _("Paid amount differs: queued for finance")
    NOT_PAID = "not_paid", _("Not a payment: ignored")
    UNKNOWN_ORDER = "unknown_order", _("Unknown order: listed for finance")
    SECOND_PAYMENT = "second_payment", _("A second payment of a paid order: listed for finance")


class LineKind(models.TextChoices):
    PAYMENT = "payment", _("Payment")
    REFUND = "refund", _("Refund")
