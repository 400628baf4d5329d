from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "prepay.reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        # the billing daemon also runs background exports (and takes over those a web process left)
        from prepay.billing.jobs import register_tick_work
        from prepay.reports.export_jobs import run_due

        register_tick_work("exported", run_due)
