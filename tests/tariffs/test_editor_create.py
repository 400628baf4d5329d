"""The structured tariff editor creates each kind of tariff, with no JSON typed by anyone."""

from __future__ import annotations

from decimal import Decimal

from django.utils import translation

from prepay.audit.models import AuditEvent
from prepay.domain.tariffs import Kind, quote_energy
from prepay.tariffs.engine import engine_tariff
from prepay.tariffs.models import Tariff
from tests import factories as f
from tests.helpers import changes_nothing
from tests.tariffs.conftest import (
    ADD_URL,
    TIERED_BLOCKS,
    TOU_DAY,
    TOU_PERIODS,
    editor_data,
    text_at,
)


class TariffEditorCreateTestCase:
    def test_it_creates_a_flat_tariff_with_vat_charges_and_limits(self, world, login):
        data = editor_data(
            world.a1.group,
            price="0.8650",
            vat_percent="13",
            vat_included="",
            min_purchase="10",
            max_purchase="5000",
            tables={"charges": [{"name": "meter rent", "amount": "5", "per": "cycle"}]},
        )
        response = login(world.admin).post(ADD_URL, data)
        assert response.status_code == 302, text_at(response, "content-main")
        row = Tariff.objects.get(code="biz")
        assert (row.kind, row.unit_price, row.vat_rate, row.vat_included) == (
            "flat",
            Decimal("0.8650"),
            Decimal("0.1300"),
            False,
        )
        assert row.definition == {
            "cycle": "month",
            "fixed_charges": [{"name": "meter rent", "amount": "5", "per": "cycle"}],
            "min_purchase": "10",
            "max_purchase": "5000",
        }
        t = engine_tariff(row)
        assert quote_energy(t, "100", charge_cycle_fees=True).total == Decimal("103.40")
        event = AuditEvent.objects.get(verb="tariff.create")
        assert event.object_id == str(row.pk) and event.actor == world.admin

    def test_it_creates_a_tiered_tariff_from_the_blocks_table(self, world, login):
        data = editor_data(world.a1.group, kind="tiered", tables={"blocks": TIERED_BLOCKS})
        assert login(world.admin).post(ADD_URL, data).status_code == 302
        row = Tariff.objects.get(code="biz")
        assert row.unit_price == Decimal("0.5880")  # the first block's, for lists
        assert row.definition["blocks"] == [
            {"upto": "200", "price": "0.588"},
            {"upto": "400", "price": "0.638"},
            {"upto": None, "price": "0.888"},
        ]
        assert [b.upto for b in engine_tariff(row).blocks] == [Decimal(200), Decimal(400), None]

    def test_it_creates_a_time_of_use_tariff_with_a_schedule_per_day_type(self, world, login):
        weekend = [{"start": "00:00", "end": "24:00", "period": "valley"}]
        holiday = [
            {"start": "22:00", "end": "08:00", "period": "valley"},
            {"start": "08:00", "end": "22:00", "period": "flat"},
        ]
        data = editor_data(
            world.a1.group,
            kind="tou",
            tables={"periods": TOU_PERIODS, "workday": TOU_DAY, "weekend": weekend, "holiday": holiday},
        )
        assert login(world.admin).post(ADD_URL, data).status_code == 302
        row = Tariff.objects.get(code="biz")
        assert row.unit_price == Decimal("0.6500")  # empty purchase price: the flat period's
        assert set(row.definition["schedules"]) == {"workday", "weekend", "holiday"}
        t = engine_tariff(row)
        assert t.kind is Kind.TOU and t.price == Decimal("0.65")
        assert t.schedules is not None and t.schedules.holiday is not None

    def test_it_keeps_one_schedule_for_every_day_when_only_workdays_are_given(self, world, login):
        data = editor_data(
            world.a1.group,
            kind="tou",
            purchase_price="0.7000",
            tables={"periods": TOU_PERIODS, "workday": TOU_DAY},
        )
        assert login(world.admin).post(ADD_URL, data).status_code == 302
        row = Tariff.objects.get(code="biz")
        assert "schedules" not in row.definition and len(row.definition["schedule"]) == 6
        assert row.unit_price == Decimal("0.7000")

    def test_it_creates_a_yearly_water_tariff_in_cubic_metres(self, world, login):
        blocks = [
            {"upto": "180", "price": "3.45"},
            {"upto": "260", "price": "4.83"},
            {"upto": "", "price": "7.96"},
        ]
        data = editor_data(
            world.a1.group, kind="tiered", utility="water", cycle="year", tables={"blocks": blocks}
        )
        assert login(world.admin).post(ADD_URL, data).status_code == 302
        t = engine_tariff(Tariff.objects.get(code="biz"))
        assert (t.unit.value, t.cycle.value) == ("m3", "year")

    def test_it_reads_full_width_digits_typed_with_a_chinese_input_method(self, world, login):
        data = editor_data(world.a1.group, price="０．８６５０")
        assert login(world.admin).post(ADD_URL, data).status_code == 302
        assert Tariff.objects.get(code="biz").unit_price == Decimal("0.8650")

    def test_it_creates_a_site_tariff_for_a_site_admin(self, world, login):
        site_admin = f.user("site_admin", memberships=[(world.a1.group, world.a1.site, "admin")])
        data = editor_data(world.a1.group, site=world.a1.site.pk, price="1")
        assert login(site_admin).post(ADD_URL, data).status_code == 302
        assert Tariff.objects.get(code="biz").site == world.a1.site

    def test_it_refuses_a_code_the_group_has_and_saves_nothing(self, world, login):
        data = editor_data(world.a1.group, code=world.a1.tariff.code, effective_from="2026-09-01", price="1")
        with changes_nothing():
            response = login(world.admin).post(ADD_URL, data)
        assert response.status_code == 400
        assert "open it and save a new version from a date" in text_at(response, "editor-errors")

    def test_it_refuses_a_site_admin_a_group_wide_tariff_on_the_form(self, world, login):
        site_admin = f.user("site_admin", memberships=[(world.a1.group, world.a1.site, "admin")])
        with changes_nothing():
            response = login(site_admin).post(ADD_URL, editor_data(world.a1.group, price="1"))
        assert response.status_code == 400
        assert "not allowed to save this record there" in text_at(response, "editor-errors")

    def test_it_refuses_an_outsider_a_group_they_do_not_manage(self, world, login):
        admin_b = f.user("admin_b", memberships=[(world.b1.group, None, "admin")])
        with changes_nothing():
            response = login(admin_b).post(ADD_URL, editor_data(world.a1.group, price="1"))
        assert response.status_code == 400
        assert "Select a valid choice" in text_at(response, "class=form-row field-group errors")

    def test_it_refuses_the_editor_to_roles_without_master_data(self, world, login):
        for user in (world.cashier, world.finance, world.clerk, world.auditor):
            assert login(user).get(ADD_URL).status_code == 403
            with changes_nothing():
                assert login(user).post(ADD_URL, editor_data(world.a1.group, price="1")).status_code == 403

    def test_it_speaks_chinese(self, world, login):
        client = login(world.admin)
        response = client.get(ADD_URL, HTTP_ACCEPT_LANGUAGE="zh-hans")
        with translation.override("zh-hans"):
            assert translation.gettext("Tier blocks") in text_at(response, "table-blocks")
            assert translation.gettext("Tier blocks") != "Tier blocks"


class TariffEditorRowsTestCase:
    def test_it_adds_a_row_without_saving(self, world, login):
        data = editor_data(
            world.a1.group, kind="tiered", tables={"blocks": TIERED_BLOCKS}, _save=None, _add="blocks"
        )
        with changes_nothing():
            response = login(world.admin).post(ADD_URL, data)
        assert response.status_code == 200
        assert 'name="blocks-3-upto"' in response.content.decode()
        assert text_at(response, "editor-errors") == ""

    def test_it_starts_a_new_time_slot_where_the_last_one_ends(self, world, login):
        rows = TOU_DAY[:2]
        data = editor_data(
            world.a1.group,
            kind="tou",
            tables={"periods": TOU_PERIODS, "workday": rows},
            _save=None,
            _add="workday",
        )
        response = login(world.admin).post(ADD_URL, data)
        assert 'name="workday-2-start" value="10:00"' in response.content.decode()

    def test_it_removes_a_row_and_moves_the_later_ones_up(self, world, login):
        data = editor_data(
            world.a1.group, kind="tiered", tables={"blocks": TIERED_BLOCKS}, _save=None, _remove="blocks-1"
        )
        response = login(world.admin).post(ADD_URL, data)
        html = response.content.decode()
        assert 'name="blocks-TOTAL_FORMS" value="2"' in html
        assert 'name="blocks-1-price" value="0.8880"' in html
        assert 'name="blocks-2-price"' not in html
