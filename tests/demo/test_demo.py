"""The demo data set loads once, and every printed user can log in and sees only their share."""

from __future__ import annotations

import pytest
from django.urls import reverse

from prepay.customers.models import Account, Customer
from prepay.demo.data import load_demo
from prepay.meters.choices import MeterKind
from prepay.meters.models import Meter
from prepay.tenancy.models import Site


@pytest.fixture
def demo(db, tmp_path, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    created, users = load_demo(tmp_path)
    assert created
    return {name: password for name, password, _desc in users}


class DemoDataTestCase:
    def test_it_builds_a_realistic_group(self, demo):
        assert Site.objects.count() == 2
        assert 45 <= Customer.objects.count() <= 60
        assert set(Customer.objects.values_list("customer_type__code", flat=True)) == {
            "residential",
            "commercial",
            "industrial",
        }
        kinds = set(Meter.objects.values_list("model__kind", flat=True))
        assert kinds == {MeterKind.SINGLE_PHASE, MeterKind.THREE_PHASE, MeterKind.WATER}
        assert Meter.objects.filter(
            model__kind=MeterKind.THREE_PHASE, ct_ratio__gt=1, status="installed"
        ).exists()
        assert Account.objects.filter(installations__ended_at__isnull=True).count() >= 45

    def test_it_keeps_the_data_when_loaded_again(self, demo, tmp_path):
        before = Customer.objects.count()
        created, users = load_demo(tmp_path)
        assert not created and Customer.objects.count() == before
        assert {name: pw for name, pw, _ in users} == demo

    @pytest.mark.parametrize(
        ("username", "sites"),
        [
            ("root", {"riverside", "techpark"}),
            ("admin", {"riverside", "techpark"}),
            ("finance", {"riverside", "techpark"}),
            ("auditor", {"riverside", "techpark"}),
            ("clerk.rg", {"riverside"}),
            ("cashier.rg", {"riverside"}),
            ("clerk.tp", {"techpark"}),
            ("cashier.tp", {"techpark"}),
            ("finance.tp", {"techpark"}),
        ],
    )
    def test_it_lets_each_printed_user_log_in_and_see_only_their_sites(self, client, demo, username, sites):
        page = client.post(reverse("login"), {"username": username, "password": demo[username]}, follow=True)
        assert page.status_code == 200 and page.wsgi_request.user.username == username
        body = page.content.decode()
        for site in Site.objects.all():
            assert (site.name in body) == (site.code in sites), (username, site.code)
        customers = client.get(reverse("admin:customers_customer_changelist"))
        if username.startswith("cashier."):  # cashiers work at the counter, never in the back office
            assert customers.status_code == 403
            return
        assert customers.status_code == 200
        visible = set(
            Customer.objects.filter(
                number__in=[
                    c.number for c in Customer.objects.all() if c.number in customers.content.decode()
                ]
            ).values_list("site__code", flat=True)
        )
        assert visible <= sites and visible

    def test_it_refuses_a_wrong_password(self, client, demo):
        page = client.post(reverse("login"), {"username": "admin", "password": "wrong"})
        assert page.status_code == 200 and not page.wsgi_request.user.is_authenticated
