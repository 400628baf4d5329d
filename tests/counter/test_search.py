"""The counter's search (``/counter/search/``, ``find_accounts``): the unit as residents say it, the
customer number, pinyin initials, full-width digits; a serial prefix lists instead of opening; the
matches show utility, meter and balance without a query per row; scoping and roles."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from prepay.customers import actions as customer_actions
from prepay.customers.models import Building, Unit
from prepay.vending.actions import do_vend, find_accounts
from tests import factories as f
from tests.counter.test_sell import htmx


def search(user: Any, q: str, pick: bool = True) -> Any:
    return htmx(user).get("/counter/search/", {"q": q, **({"pick": "1"} if pick else {})})


def opened(response: Any) -> bool:
    return 'id="account-card"' in response.content.decode()


def block_home(shop: Any) -> Any:
    """An account at 7号楼 101 (building code 7), and a neighbour at 8号楼 101 (the world's own
    building is Block 1, so these numbers name no other)."""
    site = shop.world.a1.site
    b1 = Building.objects.create(site=site, code="7", name="7号楼 Block 7")
    b2 = Building.objects.create(site=site, code="8", name="8号楼 Block 8")
    f.account(shop.world.a1, unit=Unit.objects.create(building=b2, number="101"))
    return f.account(
        shop.world.a1, unit=Unit.objects.create(building=b1, number="101"), meter_=shop.sts_meter()
    )


class SearchByUnitTestCase:
    def test_it_opens_the_account_named_by_building_and_room_in_every_way(self, shop: Any) -> None:
        acc = block_home(shop)
        for typed in ("7号楼 101", "7-101", "Block 7 101", "7栋101", "7号楼101室", "７号楼　１０１"):
            r = search(shop.world.cashier, typed)
            assert opened(r) and acc.number in r.content.decode(), (
                typed,
                find_accounts(shop.world.cashier, typed),
            )

    def test_it_finds_the_entrance_where_the_data_has_it(self, shop: Any) -> None:
        b = Building.objects.create(site=shop.world.a1.site, code="3", name="3幢")
        acc = f.account(shop.world.a1, unit=Unit.objects.create(building=b, number="1-101"))
        f.account(shop.world.a1, unit=Unit.objects.create(building=b, number="2-101"))
        r = search(shop.world.cashier, "3幢1单元101")
        assert opened(r) and acc.number in r.content.decode()


class SearchByCustomerTestCase:
    def test_it_finds_the_accounts_of_a_customer_number(self, shop: Any) -> None:
        customer = shop.account.customer
        water = f.account(shop.world.a1, unit=shop.world.a1.units[1], customer=customer, utility="water")
        html = search(shop.world.cashier, customer.number.lower()).content.decode()
        assert shop.account.number in html and water.number in html and 'id="result-list"' in html

    def test_it_finds_a_customer_by_the_pinyin_initials_of_the_name(self, shop: Any) -> None:
        zhang = customer_actions.do_create_customer(
            site=shop.world.a1.site,
            number="C-ZS",
            name="张三",
            customer_type=shop.world.a1.ctype,
            actor=shop.world.clerk,
        )
        acc = f.account(shop.world.a1, unit=shop.world.a1.units[2], customer=zhang)
        r = search(shop.world.cashier, "zs")
        assert opened(r) and acc.number in r.content.decode()
        assert acc.number in search(shop.world.cashier, "ZS", pick=False).content.decode()

    def test_it_reads_full_width_digits(self, shop: Any) -> None:
        wide = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in shop.meter.serial)
        assert opened(search(shop.world.cashier, wide))


class SerialPrefixTestCase:
    def test_it_lists_a_single_match_by_part_of_a_serial_instead_of_opening_it(self, shop: Any) -> None:
        r = search(shop.world.cashier, shop.meter.serial[:-2])
        html = r.content.decode()
        assert not opened(r) and f'data-testid="result-{shop.account.number}"' in html
        assert 'id="partial-note"' in html

    def test_it_opens_the_whole_serial(self, shop: Any) -> None:
        assert opened(search(shop.world.cashier, shop.meter.serial.lower()))

    def test_find_accounts_marks_the_partial_match(self, shop: Any) -> None:
        (found,) = find_accounts(shop.world.cashier, shop.meter.serial[:-1])
        assert found.partial is True
        (whole,) = find_accounts(shop.world.cashier, shop.meter.serial)
        assert whole.partial is False


class ResultFactsTestCase:
    def test_it_shows_utility_meter_and_balance_to_tell_two_accounts_apart(self, shop: Any) -> None:
        customer = shop.account.customer
        water_meter = f.meter(shop.world.a1, shop.world.a1.water)
        f.account(
            shop.world.a1, unit=shop.world.a1.units[1], customer=customer, utility="water", meter_=water_meter
        )
        do_vend(
            account=shop.account,
            actor=shop.world.cashier,
            point=shop.point,
            idempotency_key="k1",
            amount="7.77",
        )
        html = search(shop.world.cashier, customer.name, pick=False).content.decode()
        assert html.count('data-field="utility"') == 2 and "Electricity" in html and "Water" in html
        assert shop.meter.serial in html and water_meter.serial in html
        assert "Water meter" in html and 'data-field="balance"' in html and "¥" in html
        zh = (
            htmx(shop.world.cashier, "zh-hans").get("/counter/search/", {"q": customer.name}).content.decode()
        )
        assert ">电<" in zh and ">水<" in zh and "水表" in zh

    def test_it_makes_no_query_per_match(self, shop: Any) -> None:
        for i in range(15):
            f.account(
                shop.world.a1,
                unit=shop.world.a1.units[i % 4],
                customer=f.customer(shop.world.a1, name=f"Lin {i}"),
                meter_=f.meter(shop.world.a1),
            )
        c = htmx(shop.world.cashier)
        c.get("/counter/search/", {"q": "Lin 1"})  # sessions, permissions: warm
        with CaptureQueriesContext(connection) as few:
            c.get("/counter/search/", {"q": "Lin 1"})
        with CaptureQueriesContext(connection) as many:
            html = c.get("/counter/search/", {"q": "Lin"}).content.decode()
        assert html.count('data-field="meter"') == 15
        assert len(many.captured_queries) == len(few.captured_queries)


class SearchAccessTestCase:
    def test_it_refuses_a_role_that_does_not_sell(self, shop: Any) -> None:
        assert search(shop.world.clerk, shop.meter.serial).status_code == 403

    def test_it_never_finds_another_sites_account(self, shop: Any) -> None:
        outside = f.account(shop.world.a2, meter_=f.meter(shop.world.a2))
        for q in (outside.number, outside.customer.number, f.meter(shop.world.a2).serial, "B1 101"):
            assert (
                f'data-testid="result-{outside.number}"' not in search(shop.world.cashier, q).content.decode()
            )

    def test_balance_is_the_ledgers(self, shop: Any) -> None:
        (found,) = find_accounts(shop.world.cashier, shop.account.number)
        assert getattr(found, "balance", None) in (None, Decimal("0.00"))
