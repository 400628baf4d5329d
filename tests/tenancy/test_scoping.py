from __future__ import annotations

from prepay.customers.models import Customer, CustomerType
from prepay.meters.models import Meter
from prepay.tenancy.models import PropertyGroup, Site
from prepay.tenancy.scoping import can


class ScopingTestCase:
    def test_it_limits_site_staff_to_their_site(self, world):
        sites = set(Site.objects.for_user(world.clerk).values_list("code", flat=True))
        assert sites == {"a1"}
        serials = set(Meter.objects.for_user(world.clerk).values_list("site__code", flat=True))
        assert serials == {"a1"}

    def test_it_gives_group_finance_every_site_of_its_group_only(self, world):
        assert set(Site.objects.for_user(world.finance).values_list("code", flat=True)) == {"a1", "a2"}
        assert not Meter.objects.for_user(world.finance).filter(site=world.b1.site).exists()

    def test_it_shows_group_wide_master_data_to_site_staff(self, world):
        assert set(CustomerType.objects.for_user(world.clerk).values_list("group__code", flat=True)) == {"ga"}
        assert list(PropertyGroup.objects.for_user(world.clerk).values_list("code", flat=True)) == ["ga"]

    def test_it_hides_everything_of_another_group(self, world):
        assert not Site.objects.for_user(world.clerk_b).filter(group=world.a1.group).exists()
        assert not Customer.objects.for_user(world.clerk_b).filter(site__group=world.a1.group).exists()

    def test_it_grants_capabilities_by_role(self, world):
        a1 = world.a1.site
        assert can(world.clerk, "account.lifecycle", group_id=a1.group_id, site_id=a1.pk)
        assert not can(world.cashier, "account.lifecycle", group_id=a1.group_id, site_id=a1.pk)
        assert not can(world.clerk_a2, "account.lifecycle", group_id=a1.group_id, site_id=a1.pk)
        assert can(world.admin, "masterdata.change", group_id=a1.group_id, site_id=a1.pk)
        assert not can(world.auditor, "customer.change", group_id=a1.group_id, site_id=a1.pk)

    def test_it_refuses_anonymous_users(self, world):
        from django.contrib.auth.models import AnonymousUser

        assert not Site.objects.for_user(AnonymousUser()).exists()


class MembershipsReadOnceTestCase:
    """A request reads the user's memberships once, however many capabilities it asks about (the
    navigation alone asks about ten): issue 17, "memberships read 14 times per counter sale"."""

    def test_a_page_reads_the_memberships_once(self, world, client):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        client.force_login(world.cashier)
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/counter/").status_code == 200
        reads = [
            q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT "tenancy_membership".')
        ]
        assert len(reads) == 1, reads

    def test_a_new_membership_counts_once_forgotten(self, world):
        from prepay.tenancy.choices import Role
        from prepay.tenancy.models import Membership
        from prepay.tenancy.scoping import forget, holds

        user = world.cashier
        assert holds(user, "vend.sell") and not holds(user, "reports.view")
        Membership.objects.create(user=user, group=world.a1.group, site=None, role=Role.FINANCE)
        forget(user)
        assert holds(user, "reports.view")
