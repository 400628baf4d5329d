from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "prepay.analytics"
    label = "analytics"
    verbose_name = _("Consumption analysis")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # the billing daemon runs yesterday's analysis once a day per site (a failure is recorded on
        # the day's AnalysisRun and retried an hour later; it never stops billing)
        from prepay.analytics.jobs import run_due
        from prepay.billing.jobs import register_tick_work

        register_tick_work("analysed", run_due)
