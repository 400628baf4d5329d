"""The account page: balance or last known meter credit, supply state, the consumption chart's data,
recent purchases; only for the signed-in customer (another customer's account is 404)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.test import Client
from django.utils import timezone

from prepay.billing.models import Bill, FeeSchedule, SupplyState
from prepay.customers.choices import AccountMode
from prepay.meters.models import Installation
from prepay.telemetry.models import MeterReading
from prepay.vending.actions import do_vend
from tests import factories as f


class AccountViewTestCase:
    def test_it_shows_the_meters_last_reported_credit(self, portal, clock):
        meter = portal.pay.shop.meter
        now = timezone.now()
        MeterReading.objects.create(
            meter=meter,
            read_at=now - timedelta(hours=2),
            register=Decimal("150"),
            energy=Decimal("150"),
            balance=Decimal("31.20"),
        )
        MeterReading.objects.create(
            meter=meter,
            read_at=now - timedelta(hours=1),
            register=Decimal("152"),
            energy=Decimal("152"),
            balance=Decimal("30.10"),
        )
        client = portal.sign_in()
        page = client.get(f"/portal/a/{portal.account.number}/").content.decode()
        assert "30.10" in page and "31.20" not in page and 'id="consumption-chart"' in page
        assert "Credit on the meter" in page and 'id="buy"' in page

    def test_it_shows_a_remote_accounts_balance_and_supply_state(self, portal):
        shop = portal.pay.shop
        acc = f.account(
            shop.world.a1,
            unit=shop.world.a1.units[1],
            customer=portal.account.customer,
            mode=AccountMode.REMOTE,
        )
        do_vend(
            account=acc,
            actor=shop.world.cashier,
            point=shop.point,
            amount="80.00",
            idempotency_key="seed-remote",
        )
        SupplyState.objects.update_or_create(account=acc, defaults={"level": "level2", "cut": "reminder"})
        client = portal.sign_in()
        r = client.get("/portal/")
        assert r.status_code == 200 and acc.number in r.content.decode()  # two accounts: the list
        page = client.get(f"/portal/a/{acc.number}/").content.decode()
        assert "¥80.00" in page and 'id="supply-cut"' in page and "Balance" in page

    def test_the_chart_data_is_this_accounts_readings_only(self, portal):
        meter = portal.pay.shop.meter
        start = timezone.now() - timedelta(days=3)
        Installation.objects.filter(meter=meter).update(started_at=start - timedelta(days=1))
        for i, value in enumerate(["100", "104.5", "110"]):
            MeterReading.objects.create(
                meter=meter, read_at=start + timedelta(days=i), register=Decimal(value), energy=Decimal(value)
            )
        client = portal.sign_in()
        data = client.get(f"/portal/a/{portal.account.number}/consumption.json").json()
        assert data["period"] == "day" and [Decimal(x) for x in data["total"]] == [
            Decimal("4.5"),
            Decimal("5.5"),
        ]
        month = client.get(f"/portal/a/{portal.account.number}/consumption.json?period=month").json()
        assert month["period"] == "month"

    def test_another_customers_account_is_not_found(self, portal):
        shop = portal.pay.shop
        other = f.account(shop.world.a1, unit=shop.world.a1.units[2])
        outsider = f.account(shop.world.b1)
        client = portal.sign_in()
        for acc in (other, outsider):
            for suffix in ("", "consumption.json", "purchases/", "bills/", "buy/"):
                assert client.get(f"/portal/a/{acc.number}/{suffix}").status_code == 404
        assert client.get("/portal/a/NOSUCH/").status_code == 404

    def test_the_bills_page_lists_fees_bills_and_warnings(self, portal):
        acc = portal.account
        FeeSchedule.objects.create(
            site=acc.site,
            account=acc,
            kind="property",
            name="Property fee",
            amount=Decimal("35.00"),
            frequency="monthly",
            starts_on=date(2026, 1, 1),
        )
        Bill.objects.create(
            account=acc,
            number="B-2026-05-1",
            period_start=date(2026, 5, 1),
            period_end=date(2026, 5, 31),
            amount=Decimal("120.00"),
            from_seq=0,
            to_seq=0,
            issued_at=timezone.now(),
            due_date=date(2020, 6, 20),
        )
        client = portal.sign_in()
        page = client.get(f"/portal/a/{acc.number}/bills/").content.decode()
        assert (
            "Property fee" in page
            and "¥35.00" in page
            and 'id="bill-B-2026-05-1"' in page
            and "Overdue" in page
        )

    def test_it_reads_in_chinese(self, portal):
        client = portal.sign_in()
        page = client.get(
            f"/portal/a/{portal.account.number}/", HTTP_ACCEPT_LANGUAGE="zh-hans"
        ).content.decode()
        assert "购电" in page and 'lang="zh-hans"' in page

    def test_signed_in_customers_see_their_own_name_only(self, portal):
        client = portal.sign_in()
        page = client.get(f"/portal/a/{portal.account.number}/").content.decode()
        assert portal.account.customer.name in page and portal.pay.shop.world.cashier.username not in page
        assert Client().get("/portal/").status_code == 302
