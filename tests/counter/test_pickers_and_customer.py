"""The clerk forms' search-as-you-type pickers (a unit, a meter in stock) and the customer page.

Matching as residents say a unit, a cap on results, scoping to the user's sites, meters in stock
only, roles; the queries do not grow with 2,000 units. The customer page lists each account with its
utility, meter and balance; the account list shows meter and balance too."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from prepay.customers.choices import AccountMode, AccountStatus, Utility
from prepay.customers.models import Building, Unit
from prepay.meters.choices import MeterStatus
from prepay.meters.models import Installation, Meter
from prepay.tenancy.models import Role
from prepay.vending.actions import do_vend
from prepay.vending.models import LedgerEntry
from tests import factories as f
from tests.counter.conftest import client_for


def picked(html: str) -> list[str]:
    """The values the picker offers, in order."""
    return re.findall(r'data-pick-value="([^"]*)"', html)


def pick_units(user: Any, customer: Any, text: str) -> Any:
    return client_for(user).get(
        "/counter/pick/units/", {"customer": customer.pk, "field": "unit", "unit": text, "box": "id_unit"}
    )


def pick_meters(user: Any, account: Any, text: str, fill: str = "") -> Any:
    params = {"account": account.pk, "field": "new_meter", "new_meter": text, "box": "id_new_meter"}
    return client_for(user).get("/counter/pick/meters/", params | ({"fill": fill} if fill else {}))


def serial_meter(w: Any, serial: str, model: Any = None, **kw: Any) -> Any:
    return Meter.objects.create(group=w.group, site=w.site, serial=serial, model=model or w.single, **kw)


def many_units(site: Any, n: int = 2000) -> Building:
    """``n`` units in one new building (code 9, 9号楼) at ``site``: rooms 1001 … 1000+n."""
    b = Building.objects.create(site=site, code="9", name="9号楼 Block 9")
    Unit.objects.bulk_create(Unit(building=b, number=str(1000 + i), floor=1) for i in range(1, n + 1))
    return b


class UnitPickerTestCase:
    def test_it_finds_a_unit_as_residents_say_it(self, world: Any) -> None:
        customer = f.customer(world.a1)
        for typed in ("B1 101", "b1-101", "B1#101", "Ｂ１ １０１"):
            r = pick_units(world.clerk, customer, typed)
            assert r.status_code == 200
            assert picked(r.content.decode()) == ["B1 101"], typed
        html = pick_units(world.clerk, customer, "20").content.decode()
        assert picked(html) == ["B1 201", "B1 202"]
        assert 'data-pick-box="id_unit"' in html and 'data-testid="id_unit-picks"' in html

    def test_it_says_when_nothing_matches(self, world: Any) -> None:
        html = pick_units(world.clerk, f.customer(world.a1), "B1 909").content.decode()
        assert picked(html) == [] and "Nothing matches" in html and "B1 909" in html

    def test_it_offers_only_units_of_the_customers_site(self, world: Any) -> None:
        # site a2 (same group) and b1 (another group) also have a building B1 with unit 101
        customer = f.customer(world.a1)
        a1_unit = world.a1.units[0]
        html = pick_units(world.clerk, customer, "B1 101").content.decode()
        assert picked(html) == ["B1 101"]
        group_clerk = f.user("clerk_ga", memberships=[(world.a1.group, None, Role.CLERK)])
        r = pick_units(group_clerk, customer, "101")  # a clerk of the whole group sees a2's units too
        admin_html = r.content.decode()
        assert r.status_code == 200 and picked(admin_html) == ["B1 101"]
        assert str(a1_unit) in admin_html
        for u in world.a2.units + world.b1.units:
            assert str(u) not in admin_html

    def test_it_caps_the_matches_and_does_not_grow_in_queries_with_2000_units(self, world: Any) -> None:
        customer = f.customer(world.a1)
        c = client_for(world.clerk)
        params = {"customer": customer.pk, "field": "unit", "box": "id_unit"}
        with CaptureQueriesContext(connection) as few:
            c.get("/counter/pick/units/", params | {"unit": "1"})
        many_units(world.a1.site)
        with CaptureQueriesContext(connection) as lots:
            r = c.get("/counter/pick/units/", params | {"unit": "1"})
        assert len(picked(r.content.decode())) == 20
        assert len(lots) == len(few), [q["sql"] for q in lots.captured_queries]
        r = c.get("/counter/pick/units/", params | {"unit": "9号楼 1234"})
        assert picked(r.content.decode()) == ["9 1234"]
        with CaptureQueriesContext(connection) as empty:
            r = c.get("/counter/pick/units/", params | {"unit": ""})
        assert len(picked(r.content.decode())) == 20 and len(empty) <= len(few)

    def test_a_picked_unit_opens_the_account_there(self, world: Any) -> None:
        customer = f.customer(world.a1)
        many_units(world.a1.site, 30)
        value = picked(pick_units(world.clerk, customer, "9-1017").content.decode())
        assert value == ["9 1017"]
        r = client_for(world.clerk).post(
            f"/counter/customers/{customer.pk}/open-account/",
            {"unit": value[0], "utility": "electricity", "mode": "local", "billing": "prepaid"},
        )
        assert r.status_code == 302
        assert customer.accounts.get().unit.number == "1017"

    def test_roles_and_scoping(self, world: Any) -> None:
        customer = f.customer(world.a1)
        assert pick_units(world.cashier, customer, "101").status_code == 403
        assert pick_units(world.finance, customer, "101").status_code == 403
        assert pick_units(world.clerk_a2, customer, "101").status_code == 404
        assert pick_units(world.clerk_b, customer, "101").status_code == 404
        c = client_for(world.clerk)
        assert c.get("/counter/pick/units/", {"unit": "101"}).status_code == 404
        for junk in ("abc", "1.5", "-1", "١"):  # not an id: 404, never a server error
            assert c.get("/counter/pick/units/", {"customer": junk}).status_code == 404
            assert c.get("/counter/pick/meters/", {"account": junk}).status_code == 404
        anonymous = client_for(world.clerk)
        anonymous.logout()
        r = anonymous.get("/counter/pick/units/", {"customer": customer.pk})
        assert r.status_code == 302 and "login" in r["Location"]


class MeterPickerTestCase:
    def test_it_offers_stock_meters_of_the_accounts_utility_by_serial(self, world: Any) -> None:
        acc = f.account(world.a1)
        installed = world.a1.meters[0]
        f.account(world.a1, unit=world.a1.units[1], meter_=installed)
        faulty = serial_meter(world.a1, "ZX-0003", status=MeterStatus.FAULTY)
        a = serial_meter(world.a1, "ZX-0001")
        b = serial_meter(world.a1, "ZX-0002")
        water = serial_meter(world.a1, "ZX-0009", world.a1.water)
        other_site = serial_meter(world.a2, "ZX-0004")  # same group, a site the clerk does not hold
        other_group = serial_meter(world.b1, "ZX-0005")
        html = pick_meters(world.clerk, acc, "zx-000").content.decode()
        assert picked(html) == [a.serial, b.serial]
        for m in (faulty, water, other_site, other_group):
            assert m.serial not in html
        assert "DDSY single-phase" in html  # the model beside the serial
        all_stock = picked(pick_meters(world.clerk, acc, "").content.decode())
        assert installed.serial not in all_stock and world.a1.meters[1].serial in all_stock

    def test_a_water_account_is_offered_water_meters_only(self, world: Any) -> None:
        acc = f.account(world.a1, utility=Utility.WATER)
        water = serial_meter(world.a1, "W-1", world.a1.water)
        html = pick_meters(world.clerk, acc, "").content.decode()
        assert picked(html) == [water.serial]

    def test_a_pick_fills_the_reading_with_the_last_poll(self, world: Any) -> None:
        from django.utils import timezone

        from prepay.telemetry.models import MeterReading

        acc = f.account(world.a1)
        polled, never = world.a1.meters[0], world.a1.meters[1]
        MeterReading.objects.create(
            meter=polled, read_at=timezone.now(), register=Decimal("812.5"), energy=Decimal("812.5")
        )
        html = pick_meters(world.clerk, acc, "", fill="id_new_opening_reading").content.decode()
        row = html.split(f'data-pick-value="{polled.serial}"')[1].split("</li>")[0]
        assert 'data-pick-fill="{&quot;id_new_opening_reading&quot;: &quot;812.500&quot;}"' in row
        row = html.split(f'data-pick-value="{never.serial}"')[1].split("</li>")[0]
        assert "data-pick-fill" not in row

    def test_it_caps_the_matches_and_queries_stay_flat(self, world: Any) -> None:
        from django.utils import timezone

        from prepay.telemetry.models import MeterReading

        acc = f.account(world.a1)
        c = client_for(world.clerk)
        params = {"account": acc.pk, "field": "meter", "meter": "M", "box": "id_meter", "fill": "id_x"}
        with CaptureQueriesContext(connection) as few:
            c.get("/counter/pick/meters/", params)
        meters = Meter.objects.bulk_create(
            Meter(group=world.a1.group, site=world.a1.site, serial=f"M9{i:06d}", model=world.a1.single)
            for i in range(300)
        )
        MeterReading.objects.bulk_create(
            MeterReading(meter=m, read_at=timezone.now(), register=Decimal(i), energy=Decimal(i))
            for i, m in enumerate(meters)
        )
        with CaptureQueriesContext(connection) as lots:
            r = c.get("/counter/pick/meters/", params)
        assert len(picked(r.content.decode())) == 20
        assert len(lots) == len(few), [q["sql"] for q in lots.captured_queries]

    def test_roles_and_scoping(self, world: Any) -> None:
        acc = f.account(world.a1)
        assert pick_meters(world.cashier, acc, "M").status_code == 403
        assert pick_meters(world.auditor, acc, "M").status_code == 403
        assert pick_meters(world.clerk_a2, acc, "M").status_code == 404
        assert pick_meters(world.clerk_b, acc, "M").status_code == 404
        assert pick_meters(world.clerk, acc, "M").status_code == 200


class CustomerPageTestCase:
    def test_it_lists_each_account_with_utility_meter_and_balance(self, shop: Any) -> None:
        world = shop.world
        customer = f.customer(world.a1, name="Wang Wu", phone="13900000009")
        remote = shop.sts_account(mode=AccountMode.REMOTE, customer=customer)
        do_vend(account=remote, actor=world.cashier, point=shop.point, idempotency_key="cp-1", amount="50")
        balance = LedgerEntry.objects.filter(account=remote).order_by("-seq").first().balance_after
        assert balance == Decimal("50.00")
        water = f.account(world.a1, customer=customer, unit=world.a1.units[1], utility=Utility.WATER)
        closed = f.account(world.a1, customer=customer, unit=world.a1.units[2], status=AccountStatus.CLOSED)
        someone_else = f.account(world.a1, unit=world.a1.units[3])
        r = client_for(world.clerk).get(f"/counter/customers/{customer.pk}/")
        assert r.status_code == 200
        html = r.content.decode()
        assert "Wang Wu" in html and "13900000009" in html and customer.number in html

        def row(acc: Any) -> str:
            return html.split(f'data-testid="customer-account-{acc.number}"')[1].split("</tr>")[0]

        meter = Installation.objects.get(account=remote, ended_at__isnull=True).meter
        assert meter.serial in row(remote) and "¥50.00" in row(remote) and "Electricity" in row(remote)
        assert "Water" in row(water) and "—" in row(water) and "¥0.00" in row(water)
        assert "Closed" in row(closed)
        assert someone_else.number not in html
        assert 'id="customer-open-account"' in html  # a clerk may open one
        assert "/counter/sell/" not in html.split('id="customer-accounts"')[1] or "Sell" not in row(remote)

    def test_a_cashier_reads_it_and_may_sell_but_not_open_an_account(self, world: Any) -> None:
        customer = f.customer(world.a1)
        acc = f.account(world.a1, customer=customer)
        html = client_for(world.cashier).get(f"/counter/customers/{customer.pk}/").content.decode()
        assert acc.number in html and 'id="customer-open-account"' not in html
        assert f"?account={acc.pk}" in html

    def test_it_hides_other_sites_customers_and_refuses_users_without_a_role(self, world: Any) -> None:
        customer = f.customer(world.a1)
        url = f"/counter/customers/{customer.pk}/"
        assert client_for(world.clerk_b).get(url).status_code == 404
        assert client_for(world.clerk_a2).get(url).status_code == 404
        assert client_for(f.user("nobody")).get(url).status_code == 403
        assert client_for(world.finance).get(url).status_code == 200

    def test_queries_do_not_grow_with_accounts(self, world: Any) -> None:
        customer = f.customer(world.a1)
        c = client_for(world.clerk)
        f.account(world.a1, customer=customer, meter_=world.a1.meters[0])
        with CaptureQueriesContext(connection) as one:
            c.get(f"/counter/customers/{customer.pk}/")
        f.account(world.a1, customer=customer, unit=world.a1.units[1], meter_=world.a1.meters[1])
        f.account(world.a1, customer=customer, unit=world.a1.units[2], meter_=world.a1.meters[2])
        with CaptureQueriesContext(connection) as three:
            html = c.get(f"/counter/customers/{customer.pk}/").content.decode()
        assert all(m.serial in html for m in world.a1.meters)
        assert len(three) == len(one), [q["sql"] for q in three.captured_queries]


class AccountListTestCase:
    def test_it_shows_meter_and_balance_and_links_the_customer(self, shop: Any) -> None:
        world = shop.world
        acc = shop.sts_account(mode=AccountMode.REMOTE)
        do_vend(account=acc, actor=world.cashier, point=shop.point, idempotency_key="al-1", amount="30")
        bare = f.account(world.a1, unit=world.a1.units[1])
        c = client_for(world.clerk)
        html = c.get("/counter/accounts/").content.decode()
        row = html.split(f'data-testid="account-row-{acc.number}"')[1].split("</tr>")[0]
        serial = Installation.objects.get(account=acc).meter.serial
        assert serial in row and "¥30.00" in row and f"/counter/customers/{acc.customer_id}/" in row
        row = html.split(f'data-testid="account-row-{bare.number}"')[1].split("</tr>")[0]
        assert "—" in row and "¥0.00" in row
        with CaptureQueriesContext(connection) as few:
            c.get("/counter/accounts/")
        for i in range(5):
            f.account(world.a1, unit=world.a1.units[i % 4], meter_=f.meter(world.a1))
        with CaptureQueriesContext(connection) as more:
            c.get("/counter/accounts/")
        assert len(more) == len(few), [q["sql"] for q in more.captured_queries]

    def test_search_finds_a_unit_as_residents_say_it(self, world: Any) -> None:
        acc = f.account(world.a1, unit=world.a1.units[3])  # B1 202
        other = f.account(world.a1, unit=world.a1.units[0])
        html = client_for(world.clerk).get("/counter/accounts/", {"q": "B1 202"}).content.decode()
        assert f'account-row-{acc.number}"' in html and f'account-row-{other.number}"' not in html
