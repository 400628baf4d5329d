from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Audience(models.TextChoices):
    """Who a message is addressed to (and so who may read it; see :mod:`prepay.messaging.queries`)."""

    SITE = "site", _("A site")
    GROUP = "group", _("The whole group")
    PERSON = "person", _("A person")
