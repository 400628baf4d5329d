"""Which tariff prices a sale: account override → site default for the customer type → group default,
in the version in force on the day."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from prepay.customers.models import Account
from prepay.tariffs.engine import assigned_tariff, assigned_versions, tariff_for, versions_of
from prepay.tariffs.models import SiteTariff, Tariff
from prepay.vending.actions import SALE_RELATED, _sale_state
from tests.helpers import refused
from tests.vending.test_vend import sell


def flat(group, code, price, effective=date(2026, 1, 1), **kw):
    return Tariff.objects.create(
        group=group, code=code, name=code, unit_price=Decimal(price), effective_from=effective, **kw
    )


def same_versions(account):
    """The versions found through the site default in one query are those of the assigned tariff, and
    a sale, which reads them with its meter as JSON, reads the same rows with the same values."""
    got = assigned_versions(account)
    assigned = assigned_tariff(account)
    want = versions_of(assigned) if assigned is not None else []
    assert sorted(v.pk for v in got) == sorted(v.pk for v in want)
    with transaction.atomic():
        in_sale = _sale_state(account, "resolution").versions
    assert columns(in_sale) == columns(want)
    return {v.pk for v in got}


def columns(rows):
    return sorted(
        ({f.attname: getattr(r, f.attname) for f in Tariff._meta.concrete_fields} for r in rows), key=str
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

    def test_the_versions_of_a_site_default_are_its_code_at_its_site_or_group_wide(self, shop):
        w, a = shop.world, shop.account
        site_t = flat(w.a1.group, "site-res", "0.6000", site=w.a1.site)
        newer = flat(w.a1.group, "site-res", "0.6100", effective=date(2026, 3, 1), site=w.a1.site)
        group_wide = flat(w.a1.group, "site-res", "0.6200", effective=date(2026, 4, 1))
        flat(w.a1.group, "site-res", "0.9000", effective=date(2026, 5, 1), site=w.a2.site)  # another site
        flat(w.b1.group, "site-res", "0.9100", effective=date(2026, 5, 1))  # another group
        flat(w.a1.group, "other", "0.9200")  # another code
        SiteTariff.objects.create(site=w.a1.site, customer_type=w.a1.ctype, tariff=site_t)
        assert same_versions(a) == {site_t.pk, newer.pk, group_wide.pk}

    def test_a_group_wide_site_default_takes_no_site_only_version(self, shop):
        w, a = shop.world, shop.account
        wide = flat(w.a1.group, "wide", "0.6000")
        at_a1 = flat(w.a1.group, "wide", "0.6300", effective=date(2026, 2, 1), site=w.a1.site)
        SiteTariff.objects.create(site=w.a1.site, customer_type=w.a1.ctype, tariff=wide)
        assert same_versions(a) == {wide.pk}
        assert at_a1.pk not in same_versions(a)

    def test_a_site_default_of_another_utility_or_customer_type_does_not_apply(self, shop):
        from prepay.customers.models import CustomerType

        w, a = shop.world, shop.account
        shop_type = CustomerType.objects.create(group=w.a1.group, code="shop", name="Shop")
        SiteTariff.objects.create(
            site=w.a1.site, customer_type=w.a1.ctype, utility="water", tariff=flat(w.a1.group, "w2", "4")
        )
        SiteTariff.objects.create(site=w.a1.site, customer_type=shop_type, tariff=flat(w.a1.group, "s2", "1"))
        assert same_versions(a) == {v.pk for v in versions_of(w.a1.tariff)}

    def test_the_assigned_tariff_is_read_with_its_versions_in_one_query(
        self, shop, django_assert_num_queries
    ):
        w = shop.world
        a = Account.objects.select_related(*SALE_RELATED).get(pk=shop.account.pk)  # as a sale reads it
        with django_assert_num_queries(1):  # no site default: the customer type's
            assert tariff_for(a, timezone.localdate())[0] == w.a1.tariff
        site_t = flat(w.a1.group, "site-res", "0.6000", site=w.a1.site)
        SiteTariff.objects.create(site=w.a1.site, customer_type=w.a1.ctype, tariff=site_t)
        with django_assert_num_queries(1):
            assert tariff_for(a, timezone.localdate())[0] == site_t
        own = flat(w.a1.group, "own-res", "0.7000")
        Account.objects.filter(pk=a.pk).update(tariff=own)
        a = Account.objects.select_related(*SALE_RELATED).get(pk=a.pk)  # the tariff itself not joined
        with django_assert_num_queries(1):  # its versions, named by the account's tariff id
            assert tariff_for(a, timezone.localdate())[0] == own
        assert same_versions(a) == {own.pk}
