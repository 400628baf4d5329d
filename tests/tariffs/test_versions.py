"""A tariff change takes effect from a date: a version that priced sales or charges is kept, a change
is a new version of the same code, and a sale keeps the version it was priced with."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from itertools import count
from zoneinfo import ZoneInfo

from prepay.audit.models import AuditEvent
from prepay.billing.models import TierBasis
from prepay.tariffs.actions import TariffDraft, do_change_tariff, do_create_tariff, do_new_tariff_version
from prepay.tariffs.engine import version_in_force
from prepay.tariffs.models import Tariff
from prepay.vending.actions import do_vend
from tests import factories as f
from tests.helpers import changes_nothing, refused
from tests.tariffs.conftest import change_url, stored_data, text_at

SHANGHAI = ZoneInfo("Asia/Shanghai")
_keys = count(1)


def sell(shop, amount="50.00"):
    return do_vend(
        account=shop.account,
        actor=shop.world.cashier,
        point=shop.point,
        amount=amount,
        idempotency_key=f"v-{next(_keys)}",
    )


def draft(row: Tariff, **kw) -> TariffDraft:
    values = {
        "group_id": row.group_id,
        "site_id": row.site_id,
        "code": row.code,
        "name": row.name,
        "utility": row.utility,
        "kind": row.kind,
        "unit_price": row.unit_price,
        "vat_rate": row.vat_rate,
        "vat_included": row.vat_included,
        "definition": dict(row.definition),
        "effective_from": row.effective_from,
    }
    return TariffDraft(**(values | kw))


class TariffVersionEditorTestCase:
    def test_it_changes_a_version_nothing_was_priced_with_in_place(self, world, login):
        row = world.a1.tariff
        response = login(world.admin).post(change_url(row), stored_data(row, price="0.6000", _save="Save"))
        assert response.status_code == 302
        row.refresh_from_db()
        assert (
            row.unit_price == Decimal("0.6000")
            and Tariff.objects.filter(group=row.group, code=row.code).count() == 1
        )
        event = AuditEvent.objects.get(verb="tariff.update")
        assert (event.before["unit_price"], event.after["unit_price"]) == ("0.5880", "0.6000")

    def test_it_refuses_to_change_a_sold_version_in_place_and_asks_for_a_date(self, clock, shop, login):
        sell(shop)
        row = shop.world.a1.tariff
        with changes_nothing():
            response = login(shop.world.admin).post(
                change_url(row), stored_data(row, price="0.6000", _save="Save")
            )
        assert response.status_code == 400
        assert "choose the day the new version takes effect" in text_at(
            response, "class=form-row field-new_version_from errors"
        )
        assert "This version priced 1 sales and 0 charges (the last on 2026-06-12)" in text_at(
            response, "tariff-in-use"
        )
        row.refresh_from_db()
        assert row.unit_price == Decimal("0.5880")

    def test_it_saves_the_change_as_a_new_version_and_old_sales_keep_theirs(self, clock, shop, login):
        old_vend = sell(shop)  # 2026-06-12 at 0.588
        row = shop.world.a1.tariff
        data = stored_data(row, price="0.6000", new_version_from="2026-07-01", _save="Save")
        response = login(shop.world.admin).post(change_url(row), data)
        new = Tariff.objects.get(group=row.group, code=row.code, effective_from=date(2026, 7, 1))
        assert response.status_code == 302 and response["Location"] == change_url(new)
        assert (new.unit_price, new.group_id, new.site_id) == (Decimal("0.6000"), row.group_id, row.site_id)
        row.refresh_from_db()
        assert row.unit_price == Decimal("0.5880") and row.effective_from == date(2026, 1, 1)
        event = AuditEvent.objects.get(verb="tariff.version")
        assert event.before["id"] == row.pk and event.after["effective_from"] == "2026-07-01"

        assert sell(shop).tariff == row  # still June: the old version sells
        clock.move_to(datetime(2026, 7, 2, 9, 0, tzinfo=SHANGHAI))
        july = sell(shop)
        # at 0.60: 83.341 kWh is the largest step whose price rounds to ≤ 50.00 (50.0046)
        assert july.tariff == new and july.energy == Decimal("83.341")
        old_vend.refresh_from_db()
        assert old_vend.tariff == row and old_vend.breakdown["lines"][0]["price"] == "0.5880"

    def test_it_refuses_a_new_version_that_starts_before_the_last_sale(self, clock, shop, login):
        sell(shop)
        row = shop.world.a1.tariff
        data = stored_data(row, price="0.6000", new_version_from="2026-06-12", _save="Save")
        with changes_nothing():
            response = login(shop.world.admin).post(change_url(row), data)
        assert response.status_code == 400
        assert "must take effect after that day" in text_at(response, "editor-errors")

    def test_it_refuses_a_second_version_on_the_same_day(self, world, login):
        row, client = world.a1.tariff, login(world.admin)
        data = stored_data(row, price="0.6000", new_version_from="2026-09-01", _save="Save")
        assert client.post(change_url(row), data).status_code == 302
        with changes_nothing():
            response = client.post(change_url(row), data)
        assert response.status_code == 400 and "already takes effect on" in text_at(response, "editor-errors")

    def test_it_lists_the_versions_and_the_one_in_force(self, clock, world, login):
        row = world.a1.tariff
        login(world.admin).post(
            change_url(row), stored_data(row, new_version_from="2026-09-01", _save="Save")
        )
        versions = text_at(login(world.admin).get(change_url(row)), "tariff-versions")
        assert "2026-09-01" in versions and "future" in versions
        assert "2026-01-01 Residential flat in force today" in versions


class TariffVersionActionTestCase:
    def test_it_picks_the_version_in_force_by_date(self, world):
        row = world.a1.tariff
        new = do_new_tariff_version(
            base=row,
            draft=draft(row, unit_price=Decimal("0.7"), effective_from=date(2026, 8, 1)),
            actor=world.admin,
        )
        assert version_in_force(row, date(2026, 7, 31)) == row
        assert version_in_force(row, date(2026, 8, 1)) == new == version_in_force(new, date(2027, 1, 1))

    def test_it_carries_the_per_person_tier_basis_to_the_new_version(self, world):
        row = world.a1.water_tariff
        TierBasis.objects.create(tariff=row, per_person=True)
        new = do_new_tariff_version(
            base=row, draft=draft(row, effective_from=date(2026, 8, 1)), actor=world.admin
        )
        assert TierBasis.objects.get(tariff=new).per_person is True

    def test_it_refuses_an_in_place_change_of_a_sold_version(self, clock, shop):
        sell(shop)
        row = shop.world.a1.tariff
        refused(
            "tariff_in_use",
            do_change_tariff,
            row=row,
            draft=draft(row, unit_price=Decimal("1")),
            actor=shop.world.admin,
        )

    def test_it_refuses_a_tariff_the_engine_refuses(self, world):
        bad = draft(world.a1.tariff, code="new", kind="tiered", definition={"cycle": "month", "blocks": []})
        error = refused("tariff_invalid", do_create_tariff, draft=bad, actor=world.admin)
        assert "blocks: At least one row is required." in error.message

    def test_it_refuses_a_clerk_and_an_outsider(self, world):
        row = world.a1.tariff
        admin_b = f.user("admin_b", memberships=[(world.b1.group, None, "admin")])
        for actor in (world.clerk, world.cashier, admin_b):
            refused(
                "forbidden",
                do_new_tariff_version,
                base=row,
                draft=draft(row, effective_from=date(2026, 8, 1)),
                actor=actor,
            )
            refused("forbidden", do_change_tariff, row=row, draft=draft(row), actor=actor)
