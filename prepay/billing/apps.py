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

        # charges price with tariff versions; the per-person tier basis carries over to a new version
        from prepay.billing.tariffs import carry_tier_basis, charges_priced_by
        from prepay.tariffs.engine import register_pricer
        from prepay.tariffs.signals import version_added

        register_pricer("charges", charges_priced_by)
        version_added.connect(carry_tier_basis, dispatch_uid="billing.carry_tier_basis")
