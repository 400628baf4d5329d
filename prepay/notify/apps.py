from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "prepay.notify"
    label = "notify"
    verbose_name = _("Notifications")
