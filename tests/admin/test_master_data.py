"""Master data pages (buildings, units, customer types, meter models, tariffs, sites, groups)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from prepay.audit.models import AuditEvent
from prepay.customers.models import Building, Unit
from prepay.tariffs.models import CalendarDay, Tariff
from prepay.tenancy.models import PropertyGroup, Site
from tests import factories as f
from tests.tariffs.conftest import editor_data


def building_data(site, **kw):
    return {"site": site.pk, "code": kw.get("code", "B9"), "name": kw.get("name", "Block 9"), "floors": 3}


class BuildingAdminTestCase:
    def test_it_lets_the_group_admin_add_a_building_with_an_audit_event(self, world, login):
        response = login(world.admin).post("/admin/customers/building/add/", building_data(world.a2.site))
        assert response.status_code == 302
        b = Building.objects.get(site=world.a2.site, code="B9")
        event = AuditEvent.objects.get(verb="building.create")
        assert (
            event.object_id == str(b.pk) and event.actor == world.admin and event.site_id == world.a2.site.pk
        )

    def test_it_audits_a_change_with_before_and_after(self, world, login):
        b = world.a1.building
        data = building_data(world.a1.site, code=b.code, name="Renamed")
        assert login(world.admin).post(f"/admin/customers/building/{b.pk}/change/", data).status_code == 302
        event = AuditEvent.objects.get(verb="building.update")
        assert event.before["name"] == "a1 Block 1" and event.after["name"] == "Renamed"

    def test_it_refuses_add_to_a_cashier(self, world, login):
        client = login(world.cashier)
        assert client.get("/admin/customers/building/add/").status_code == 403
        assert client.post("/admin/customers/building/add/", building_data(world.a1.site)).status_code == 403
        assert not Building.objects.filter(code="B9").exists()

    def test_it_shows_a_clerk_master_data_read_only(self, world, login):
        client = login(world.clerk)
        b = world.a1.building
        page = client.get(f"/admin/customers/building/{b.pk}/change/")
        assert page.status_code == 200 and b'name="_save"' not in page.content
        data = building_data(world.a1.site, code=b.code, name="Hacked")
        assert client.post(f"/admin/customers/building/{b.pk}/change/", data).status_code == 403
        b.refresh_from_db()
        assert b.name == "a1 Block 1"

    def test_it_gives_an_outsider_of_another_site_404(self, world, login):
        b = world.a1.building
        assert login(world.clerk_a2).get(f"/admin/customers/building/{b.pk}/change/").status_code == 404
        assert login(world.clerk_b).get(f"/admin/customers/building/{b.pk}/history/").status_code == 404

    def test_it_refuses_moving_a_building_to_another_group_and_changes_nothing(self, world, login):
        b = world.a1.building
        before = AuditEvent.objects.count()
        data = building_data(world.b1.site, code=b.code, name="Moved")
        response = login(world.admin).post(f"/admin/customers/building/{b.pk}/change/", data)
        assert response.status_code == 200
        assert b"Select a valid choice" in response.content
        b.refresh_from_db()
        assert (b.site_id, b.name) == (world.a1.site.pk, "a1 Block 1")
        assert AuditEvent.objects.count() == before

    def test_it_offers_only_sites_where_the_user_holds_the_capability(self, world, login):
        site_admin = f.user("site_admin", memberships=[(world.a1.group, world.a1.site, "admin")])
        content = login(site_admin).get("/admin/customers/building/add/").content.decode()
        assert f'value="{world.a1.site.pk}"' in content
        assert f'value="{world.a2.site.pk}"' not in content

    def test_it_refuses_a_duplicate_code_on_the_form(self, world, login):
        data = building_data(world.a1.site, code=world.a1.building.code)
        response = login(world.admin).post("/admin/customers/building/add/", data)
        assert response.status_code == 200
        assert Building.objects.filter(site=world.a1.site).count() == 1

    def test_it_shows_the_action_refusal_when_deleting_a_building_in_use(self, world, login):
        b = world.a1.building
        client = login(world.admin)
        response = client.post(f"/admin/customers/building/{b.pk}/delete/", {"post": "yes"})
        # Django lists the protected units and refuses before the action runs
        assert response.status_code == 200
        assert Building.objects.filter(pk=b.pk).exists()

    def test_it_deletes_an_unused_building_through_the_action(self, world, login):
        b = Building.objects.create(site=world.a1.site, code="EMPTY", name="Empty")
        response = login(world.admin).post(f"/admin/customers/building/{b.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302
        assert not Building.objects.filter(pk=b.pk).exists()
        assert AuditEvent.objects.filter(verb="building.delete", object_id=str(b.pk)).exists()

    def test_it_bulk_deletes_through_the_action_all_or_nothing(self, world, login):
        empty = Building.objects.create(site=world.a1.site, code="EMPTY", name="Empty")
        data = {"action": "delete_selected", "_selected_action": [empty.pk], "post": "yes"}
        assert login(world.admin).post("/admin/customers/building/", data).status_code == 302
        assert not Building.objects.filter(pk=empty.pk).exists()
        assert AuditEvent.objects.filter(verb="building.delete").count() == 1

    def test_it_refuses_bulk_delete_to_a_clerk(self, world, login):
        empty = Building.objects.create(site=world.a1.site, code="EMPTY", name="Empty")
        data = {"action": "delete_selected", "_selected_action": [empty.pk], "post": "yes"}
        login(world.clerk).post("/admin/customers/building/", data)
        assert Building.objects.filter(pk=empty.pk).exists()

    def test_it_shows_history_in_scope(self, world, login):
        b = world.a1.building
        assert login(world.clerk).get(f"/admin/customers/building/{b.pk}/history/").status_code == 200

    def test_it_never_reverts_from_history(self, world, login):
        b = world.a1.building
        version = b.history.first()
        url = f"/admin/customers/building/{b.pk}/history/{version.history_id}/"
        assert (
            login(world.admin).post(url, building_data(world.a1.site, code="B1", name="Reverted")).status_code
            == 403
        )
        assert login(world.clerk_a2).get(url).status_code == 404


class UnitAdminTestCase:
    def test_it_offers_buildings_the_user_may_change(self, world, login):
        content = login(world.admin).get("/admin/customers/unit/add/").content.decode()
        assert f'value="{world.a1.building.pk}"' in content
        assert f'value="{world.b1.building.pk}"' not in content

    def test_it_adds_a_unit(self, world, login):
        data = {"building": world.a1.building.pk, "number": "901", "floor": 9, "area": "50"}
        assert login(world.admin).post("/admin/customers/unit/add/", data).status_code == 302
        assert Unit.objects.filter(number="901").exists()

    def test_it_refuses_a_clerk(self, world, login):
        assert login(world.clerk).get("/admin/customers/unit/add/").status_code == 403


class TariffAdminTestCase:
    """The tariff pages are the structured editor (tests/tariffs/ covers it in full)."""

    def data(self, world, **kw):
        return editor_data(world.a1.group, price="0.9000", effective_from="2026-02-01", **kw)

    def test_it_adds_a_tariff_for_the_group(self, world, login):
        assert login(world.admin).post("/admin/tariffs/tariff/add/", self.data(world)).status_code == 302
        row = Tariff.objects.get(code="biz", group=world.a1.group)
        assert row.unit_price == Decimal("0.9000") and row.definition == {"cycle": "month"}
        assert AuditEvent.objects.filter(verb="tariff.create").exists()

    def test_it_offers_no_raw_json_to_type(self, world, login):
        html = login(world.admin).get("/admin/tariffs/tariff/add/").content.decode()
        assert 'name="definition"' not in html and 'id="table-blocks"' in html

    def test_it_refuses_a_site_admin_a_group_wide_tariff_on_the_form(self, world, login):
        site_admin = f.user("site_admin", memberships=[(world.a1.group, world.a1.site, "admin")])
        response = login(site_admin).post("/admin/tariffs/tariff/add/", self.data(world))
        # a site admin holds no group-wide capability: the form refuses, nothing is saved
        assert response.status_code == 400
        assert not Tariff.objects.filter(code="biz").exists()

    def test_it_refuses_finance(self, world, login):
        assert login(world.finance).get("/admin/tariffs/tariff/add/").status_code == 403

    def test_it_gives_an_outsider_404(self, world, login):
        assert (
            login(world.clerk_b).get(f"/admin/tariffs/tariff/{world.a1.tariff.pk}/change/").status_code == 404
        )


class HolidayCalendarAdminTestCase:
    def data(self, world, **kw):
        return {"group": world.a1.group.pk, "day": "2026-10-01", "kind": "holiday", "name": "国庆节", **kw}

    def test_it_lets_the_group_admin_enter_a_holiday_with_an_audit_event(self, world, login):
        assert login(world.admin).post("/admin/tariffs/calendarday/add/", self.data(world)).status_code == 302
        day = CalendarDay.objects.get(group=world.a1.group)
        assert (str(day.day), day.kind) == ("2026-10-01", "holiday")
        assert AuditEvent.objects.filter(verb="calendarday.create").exists()

    def test_it_refuses_the_same_day_twice(self, world, login):
        client = login(world.admin)
        client.post("/admin/tariffs/calendarday/add/", self.data(world))
        response = client.post("/admin/tariffs/calendarday/add/", self.data(world, kind="workday"))
        assert response.status_code == 200 and CalendarDay.objects.count() == 1

    def test_it_refuses_a_cashier_and_a_site_admin(self, world, login):
        assert login(world.cashier).get("/admin/tariffs/calendarday/add/").status_code == 403
        site_admin = f.user("site_admin", memberships=[(world.a1.group, world.a1.site, "admin")])
        login(site_admin).post("/admin/tariffs/calendarday/add/", self.data(world))
        assert not CalendarDay.objects.exists()


class TenancyAdminTestCase:
    def test_it_lets_only_superusers_add_groups(self, world, login):
        assert login(world.admin).get("/admin/tenancy/propertygroup/add/").status_code == 403
        root = f.user("root", is_superuser=True)
        response = login(root).post("/admin/tenancy/propertygroup/add/", {"code": "gc", "name": "Group C"})
        assert response.status_code == 302
        assert PropertyGroup.objects.filter(code="gc").exists()

    def test_it_lets_the_group_admin_add_a_site_in_their_group(self, world, login):
        data = {
            "group": world.a1.group.pk,
            "code": "a3",
            "name": "Site a3",
            "address": "",
            "arrears_recovery_percent": 100,
            "max_sale_amount": "20000",
            "max_daily_amount": "50000",
            "confirm_sale_above": "３000",  # typed with a Chinese IME
        }
        assert login(world.admin).post("/admin/tenancy/site/add/", data).status_code == 302
        site = Site.objects.get(code="a3", group=world.a1.group)
        assert (site.max_sale_amount, site.max_daily_amount, site.confirm_sale_above) == (
            Decimal("20000.00"),
            Decimal("50000.00"),
            Decimal("3000.00"),
        )

    @pytest.mark.parametrize(
        ("limits", "field", "message"),
        [
            ({"confirm_sale_above": "30000"}, "confirm_sale_above", "must not be above the largest sale"),
            ({"max_daily_amount": "10000"}, "max_daily_amount", "must not be below the largest single sale"),
            ({"max_sale_amount": "0"}, "max_sale_amount", "greater than or equal to 0.01"),
            ({"max_sale_amount": "1E+4"}, "max_sale_amount", "must be a plain number"),
            ({"max_sale_amount": "20000.001"}, "max_sale_amount", "at most 2 decimal places"),
        ],
    )
    def test_it_refuses_sale_limits_that_make_no_sense(self, world, login, limits, field, message):
        data = {
            "group": world.a1.group.pk,
            "code": "a3",
            "name": "Site a3",
            "address": "",
            "arrears_recovery_percent": 100,
            "max_sale_amount": "20000",
            "max_daily_amount": "50000",
            "confirm_sale_above": "3000",
            **limits,
        }
        response = login(world.admin).post("/admin/tenancy/site/add/", data)
        assert response.status_code == 200
        assert message in " ".join(response.context["adminform"].form.errors[field])
        assert not Site.objects.filter(code="a3").exists()

    def test_it_refuses_a_site_in_another_group(self, world, login):
        data = {"group": world.b1.group.pk, "code": "b3", "name": "Site b3", "address": ""}
        response = login(world.admin).post("/admin/tenancy/site/add/", data)
        assert response.status_code == 200
        assert not Site.objects.filter(code="b3").exists()

    def test_it_lists_only_own_sites(self, world, login):
        content = login(world.clerk).get("/admin/tenancy/site/").content.decode()
        assert "Site a1" in content and "Site a2" not in content and "Site b1" not in content
