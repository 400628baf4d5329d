"""Which tariff prices a sale: account override → site default for the customer type → group default,
in the version in force on the day."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from prepay.customers.models import Account
from prepay.tariffs.engine import tariff_for
from prepay.tariffs.models import SiteTariff, Tariff
from tests.helpers import refused
from tests.vending.test_vend import sell


def flat(group, code, price, effective=date(2026, 1, 1)):
    return Tariff.objects.create(
        group=group, code=code, name=code, unit_price=Decimal(price), effective_from=effective
    )


class TariffResolutionTestCase:
    def test_site_default_beats_group_default_and_account_override_beats_both(self, shop):
        g, a = shop.world.a1.group, shop.account
        today = timezone.localdate()
        assert tariff_for(a, today)[0] == shop.world.a1.tariff
        site_t = flat(g, "site-res", "0.6000")
        SiteTariff.objects.create(site=shop.world.a1.site, customer_type=shop.world.a1.ctype, tariff=site_t)
        assert tariff_for(a, today)[0] == site_t
        own = flat(g, "own", "0.7000")
        Account.objects.filter(pk=a.pk).update(tariff=own)
        a.refresh_from_db()
        assert tariff_for(a, today)[0] == own
        assert sell(shop, energy="10").amount == Decimal("7.00")

    def test_the_version_in_force_prices_the_sale(self, shop):
        g = shop.world.a1.group
        today = timezone.localdate()
        flat(g, "res-flat", "0.6500", effective=today)  # a new version of the default tariff from today
        flat(g, "res-flat", "0.9900", effective=today + timedelta(days=1))  # not yet in force
        assert sell(shop, energy="10").amount == Decimal("6.50")

    def test_no_tariff_is_a_clear_refusal(self, shop):
        shop.world.a1.ctype.default_electricity_tariff = None
        shop.world.a1.ctype.save()
        refused("no_tariff", sell, shop=shop)
