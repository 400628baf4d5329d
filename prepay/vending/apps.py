from __future__ import annotations

from django.apps import AppConfig


class VendingConfig(AppConfig):
    name = "prepay.vending"
    label = "vending"

    def ready(self) -> None:
        # sales price with tariff versions: a version that priced one is kept as it is
        from prepay.tariffs.engine import register_pricer
        from prepay.vending.tiers import sales_priced_by

        register_pricer("sales", sales_priced_by)

        # the credit carried over at a meter replacement reaches the new meter (token, card, remote)
        from prepay.meters.actions import register_credit_carrier
        from prepay.vending.deliveries import deliver_carried_credit

        register_credit_carrier(deliver_carried_credit)
