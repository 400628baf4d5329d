from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AccountMode(models.TextChoices):
    LOCAL = "local", _("Local fee control (meter holds the credit)")
    REMOTE = "remote", _("Remote fee control (platform holds the balance)")


class BillingMode(models.TextChoices):
    PREPAID = "prepaid", _("Prepaid")
    POSTPAID = "postpaid", _("Postpaid")


class AccountStatus(models.TextChoices):
    OPEN = "open", _("Open")
    SUSPENDED = "suspended", _("Suspended")
    CLOSED = "closed", _("Closed")


class Utility(models.TextChoices):
    ELECTRICITY = "electricity", _("Electricity")
    WATER = "water", _("Water")
