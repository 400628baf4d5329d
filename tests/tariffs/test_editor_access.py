"""Who may open and change a tariff: admins where it lives; others look read-only or not at all."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from prepay.tariffs.models import Tariff
from tests import factories as f
from tests.helpers import changes_nothing
from tests.tariffs.conftest import change_url, stored_data, text_at


def site_tariff(world) -> Tariff:
    return Tariff.objects.create(
        group=world.a1.group,
        site=world.a1.site,
        code="a1-only",
        name="A1 only",
        unit_price=Decimal("0.7000"),
        effective_from=date(2026, 1, 1),
    )


class TariffEditorAccessTestCase:
    def test_it_shows_roles_without_master_data_a_read_only_tariff(self, world, login):
        row = world.a1.tariff
        for user in (world.finance, world.clerk, world.auditor):
            response = login(user).get(change_url(row))
            html = response.content.decode()
            assert response.status_code == 200 and 'id="tariff-save"' not in html
            assert 'name="price" value="0.588"' in html and "disabled" in html
            assert "You may look at this tariff but not change it." in text_at(response, "content-main")

    def test_it_refuses_a_change_by_a_wrong_role_and_changes_nothing(self, world, login):
        row = world.a1.tariff
        for user in (world.finance, world.clerk, world.cashier):
            with changes_nothing():
                response = login(user).post(change_url(row), stored_data(row, price="0.1", _save="Save"))
            assert response.status_code == 403
        row.refresh_from_db()
        assert row.unit_price == Decimal("0.5880")

    def test_it_refuses_a_site_admin_a_group_wide_tariff(self, world, login):
        site_admin = f.user("site_admin", memberships=[(world.a1.group, world.a1.site, "admin")])
        row = world.a1.tariff
        assert 'id="tariff-save"' not in login(site_admin).get(change_url(row)).content.decode()
        with changes_nothing():
            assert (
                login(site_admin)
                .post(change_url(row), stored_data(row, price="0.1", _save="Save"))
                .status_code
                == 403
            )

    def test_it_lets_a_site_admin_change_their_sites_tariff(self, world, login):
        site_admin = f.user("site_admin", memberships=[(world.a1.group, world.a1.site, "admin")])
        row = site_tariff(world)
        assert (
            login(site_admin).post(change_url(row), stored_data(row, price="0.75", _save="Save")).status_code
            == 302
        )
        row.refresh_from_db()
        assert row.unit_price == Decimal("0.7500")

    def test_it_hides_a_tariff_from_outsiders(self, world, login):
        admin_b = f.user("admin_b", memberships=[(world.b1.group, None, "admin")])
        a1_only = site_tariff(world)
        for user, row in (
            (world.clerk_b, world.a1.tariff),
            (admin_b, world.a1.tariff),
            (world.clerk_a2, a1_only),
        ):
            assert login(user).get(change_url(row)).status_code == 404
            with changes_nothing():
                assert (
                    login(user).post(change_url(row), stored_data(row, price="0.1", _save="Save")).status_code
                    == 404
                )
