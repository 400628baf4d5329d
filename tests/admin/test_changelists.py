"""Every changelist shows only the rows the user's memberships reach."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from prepay.audit.actions import record_event
from prepay.vending.models import LedgerEntry, Vend
from tests import factories as f

# (admin url, how to make one row at a site world and return its search text)
CHANGELISTS = ["building", "unit", "customer", "account", "meter", "ledger", "vend"]


def make_row(kind, w):
    """One row of ``kind`` at site world ``w``; returns a string unique to it, shown in the list."""
    if kind == "building":
        return "/admin/customers/building/", w.building.name
    if kind == "unit":
        return "/admin/customers/unit/", w.units[0].building.name
    if kind == "customer":
        c = f.customer(w, name=f"Name-{w.site.code}")
        return "/admin/customers/customer/", c.name
    if kind == "account":
        a = f.account(w)
        return "/admin/customers/account/", a.number
    if kind == "meter":
        return "/admin/meters/meter/", w.meters[0].serial
    if kind == "ledger":
        a = f.account(w)
        LedgerEntry.objects.create(
            account=a,
            seq=1,
            kind="payment",
            amount=Decimal("10"),
            balance_after=Decimal("10"),
            memo=f"memo-{w.site.code}",
        )
        return "/admin/vending/ledgerentry/", f"memo-{w.site.code}"
    if kind == "vend":
        a = f.account(w)
        Vend.objects.create(account=a, amount=Decimal("10"))
        return "/admin/vending/vend/", a.number
    raise AssertionError(kind)


class ChangelistScopeTestCase:
    @pytest.mark.parametrize("kind", CHANGELISTS)
    def test_it_shows_a_site_clerk_only_their_site(self, world, login, kind):
        url, a1_text = make_row(kind, world.a1)
        _, a2_text = make_row(kind, world.a2)
        content = login(world.clerk).get(url).content.decode()
        assert a1_text in content
        assert a2_text not in content

    @pytest.mark.parametrize("kind", CHANGELISTS)
    def test_it_shows_group_finance_every_site_of_the_group(self, world, login, kind):
        url, a1_text = make_row(kind, world.a1)
        _, a2_text = make_row(kind, world.a2)
        content = login(world.finance).get(url).content.decode()
        assert a1_text in content
        assert a2_text in content

    @pytest.mark.parametrize("kind", CHANGELISTS)
    def test_it_shows_another_group_nothing_of_group_a(self, world, login, kind):
        url, a1_text = make_row(kind, world.a1)
        _, b1_text = make_row(kind, world.b1)
        response = login(world.clerk_b).get(url)
        assert response.status_code == 200
        content = response.content.decode()
        assert a1_text not in content
        assert b1_text in content

    def test_it_shows_group_wide_master_data_of_the_own_group_only(self, world, login):
        from prepay.customers.models import CustomerType

        CustomerType.objects.filter(group=world.b1.group).update(name="Residential-B")
        content = login(world.clerk).get("/admin/customers/customertype/").content.decode()
        assert "Residential" in content
        assert "Residential-B" not in content

    def test_it_offers_list_filters_with_own_sites_only(self, world, login):
        f.meter(world.b1)
        content = login(world.finance).get("/admin/meters/meter/").content.decode()
        assert "Site a1" in content and "Site a2" in content
        assert "Site b1" not in content

    def test_it_keeps_query_string_filters_inside_the_scope(self, world, login):
        content = (
            login(world.clerk)
            .get(f"/admin/meters/meter/?site__id__exact={world.a2.site.pk}")
            .content.decode()
        )
        assert world.a2.meters[0].serial not in content

    def test_it_searches_meters_by_serial(self, world, login):
        serial = world.a1.meters[1].serial
        content = login(world.clerk).get(f"/admin/meters/meter/?q={serial}").content.decode()
        assert serial in content
        assert world.a1.meters[0].serial not in content

    def test_it_searches_customers_by_phone(self, world, login):
        c = f.customer(world.a1, phone="13800138000", name="Zhang San")
        f.customer(world.a1, phone="13900000000", name="Li Si")
        content = login(world.clerk).get("/admin/customers/customer/?q=13800138000").content.decode()
        assert c.name in content and "Li Si" not in content


class AuditChangelistTestCase:
    def _event(self, w, verb):
        from django.db import transaction

        with transaction.atomic():
            return record_event(
                actor=None,
                verb=verb,
                object_type="x",
                object_id="1",
                object_repr=f"obj-{verb}",
                group_id=w.group.pk,
                site_id=w.site.pk,
            )

    def test_it_shows_the_auditor_events_of_their_site_only(self, world, login):
        self._event(world.a1, "test.a1")
        self._event(world.a2, "test.a2")
        content = login(world.auditor).get("/admin/audit/auditevent/").content.decode()
        assert "obj-test.a1" in content and "obj-test.a2" not in content

    def test_it_shows_finance_the_whole_group_and_not_another(self, world, login):
        self._event(world.a2, "test.a2")
        self._event(world.b1, "test.b1")
        content = login(world.finance).get("/admin/audit/auditevent/").content.decode()
        assert "obj-test.a2" in content and "obj-test.b1" not in content

    def test_it_refuses_the_audit_log_to_a_clerk(self, world, login):
        assert login(world.clerk).get("/admin/audit/auditevent/").status_code == 403

    def test_it_never_allows_changes_even_for_a_superuser(self, world, login):
        event = self._event(world.a1, "test.a1")
        root = f.user("root", is_superuser=True)
        client = login(root)
        assert client.get("/admin/audit/auditevent/add/").status_code == 403
        assert client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
        page = client.get(f"/admin/audit/auditevent/{event.pk}/change/")
        assert page.status_code == 200 and b'name="_save"' not in page.content

    def test_it_filters_by_verb_and_date(self, world, login):
        self._event(world.a1, "test.one")
        self._event(world.a1, "test.two")
        today = timezone.localdate()
        url = (
            f"/admin/audit/auditevent/?verb=test.one&created_at__year={today.year}"
            f"&created_at__month={today.month}&created_at__day={today.day}"
        )
        content = login(world.auditor).get(url).content.decode()
        assert "obj-test.one" in content and "obj-test.two" not in content

    def test_it_gives_an_outsider_404_on_an_event(self, world, login):
        event = self._event(world.a1, "test.a1")
        assert login(world.clerk_b).get(f"/admin/audit/auditevent/{event.pk}/change/").status_code == 403
        b_auditor = f.user("aud_b", memberships=[(world.b1.group, world.b1.site, "auditor")])
        assert login(b_auditor).get(f"/admin/audit/auditevent/{event.pk}/change/").status_code == 404
