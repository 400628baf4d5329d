from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "prepay.billing"
    label = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        # A payment posted anywhere (counter, API, bill) settles bills and closes a relay cut for credit.
        from prepay.billing.actions import on_account_credited
        from prepay.vending.signals import account_credited

        account_credited.connect(on_account_credited, dispatch_uid="billing.on_account_credited")
