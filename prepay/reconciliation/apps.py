from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReconciliationConfig(AppConfig):
    name = "prepay.reconciliation"
    verbose_name = _("Reconciliation")
