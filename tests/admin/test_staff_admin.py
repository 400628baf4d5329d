"""Staff users and memberships: group admins manage their own group only, never superusers."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from prepay.audit.models import AuditEvent
from prepay.tenancy.choices import Role
from prepay.tenancy.models import Membership
from tests import factories as f

User = get_user_model()


def membership_data(user, group, site=None, role=Role.CASHIER):
    return {"user": user.pk, "group": group.pk, "site": site.pk if site else "", "role": role}


class MembershipAdminTestCase:
    def test_it_lets_the_group_admin_grant_a_role_in_their_group(self, world, login):
        data = membership_data(world.clerk, world.a1.group, world.a2.site, Role.CASHIER)
        assert login(world.admin).post("/admin/tenancy/membership/add/", data).status_code == 302
        assert Membership.objects.filter(user=world.clerk, site=world.a2.site, role=Role.CASHIER).exists()
        assert AuditEvent.objects.filter(verb="membership.create").exists()

    def test_it_refuses_a_role_in_another_group(self, world, login):
        data = membership_data(world.clerk, world.b1.group, world.b1.site)
        response = login(world.admin).post("/admin/tenancy/membership/add/", data)
        assert response.status_code == 200
        assert not Membership.objects.filter(group=world.b1.group, user=world.clerk).exists()

    def test_it_refuses_a_site_admin_a_group_wide_role(self, world, login):
        site_admin = f.user("site_admin", memberships=[(world.a1.group, world.a1.site, Role.ADMIN)])
        data = membership_data(world.clerk, world.a1.group, None, Role.FINANCE)
        response = login(site_admin).post("/admin/tenancy/membership/add/", data)
        assert response.status_code == 200
        assert not Membership.objects.filter(user=world.clerk, role=Role.FINANCE).exists()

    def test_it_does_not_offer_users_of_another_group(self, world, login):
        content = login(world.admin).get("/admin/tenancy/membership/add/").content.decode()
        assert f'value="{world.clerk.pk}"' in content
        assert f'value="{world.clerk_b.pk}"' not in content

    def test_it_refuses_a_clerk(self, world, login):
        client = login(world.clerk)
        assert client.get("/admin/tenancy/membership/").status_code == 403
        data = membership_data(world.clerk, world.a1.group, None, Role.ADMIN)
        assert client.post("/admin/tenancy/membership/add/", data).status_code == 403
        assert not Membership.objects.filter(user=world.clerk, role=Role.ADMIN).exists()

    def test_it_lists_memberships_of_the_own_group_only(self, world, login):
        content = login(world.admin).get("/admin/tenancy/membership/").content.decode()
        assert "clerk_a1" in content and "clerk_b1" not in content

    def test_it_gives_an_outsider_404(self, world, login):
        m = world.clerk.memberships.get()
        admin_b = f.user("admin_b", memberships=[(world.b1.group, None, Role.ADMIN)])
        assert login(admin_b).get(f"/admin/tenancy/membership/{m.pk}/change/").status_code == 404

    def test_it_withdraws_a_role_with_an_audit_event(self, world, login):
        m = world.cashier.memberships.get()
        assert (
            login(world.admin).post(f"/admin/tenancy/membership/{m.pk}/delete/", {"post": "yes"}).status_code
            == 302
        )
        assert not Membership.objects.filter(pk=m.pk).exists()
        assert AuditEvent.objects.filter(verb="membership.delete").exists()


class StaffUserAdminTestCase:
    def data(self, world, **kw):
        return {
            "username": kw.get("username", "new_clerk"),
            "password1": "Xy-long-pass-9876",
            "password2": "Xy-long-pass-9876",
            "first_name": "",
            "last_name": "",
            "email": "",
            "group": world.a1.group.pk,
            "site": kw.get("site", world.a1.site.pk),
            "role": kw.get("role", "clerk"),
        }

    def test_it_creates_a_staff_user_with_a_first_role(self, world, login):
        assert login(world.admin).post("/admin/auth/user/add/", self.data(world)).status_code == 302
        user = User.objects.get(username="new_clerk")
        assert user.is_staff and not user.is_superuser and user.check_password("Xy-long-pass-9876")
        assert user.memberships.get().role == Role.CLERK
        assert AuditEvent.objects.filter(verb="user.create").exists()

    def test_it_refuses_a_site_of_another_group(self, world, login):
        response = login(world.admin).post("/admin/auth/user/add/", self.data(world, site=world.b1.site.pk))
        assert response.status_code == 200
        assert not User.objects.filter(username="new_clerk").exists()

    def test_it_never_offers_superuser_status(self, world, login):
        client = login(world.admin)
        assert b"is_superuser" not in client.get("/admin/auth/user/add/").content
        data = {
            "username": "clerk_a1",
            "first_name": "",
            "last_name": "",
            "email": "",
            "is_active": "on",
            "is_superuser": "on",
        }
        assert client.post(f"/admin/auth/user/{world.clerk.pk}/change/", data).status_code == 302
        world.clerk.refresh_from_db()
        assert not world.clerk.is_superuser

    def test_it_hides_users_of_another_group_and_superusers(self, world, login):
        root = f.user("root", is_superuser=True)
        client = login(world.admin)
        content = client.get("/admin/auth/user/").content.decode()
        assert "clerk_a1" in content and "clerk_b1" not in content and ">root<" not in content
        assert client.get(f"/admin/auth/user/{world.clerk_b.pk}/change/").status_code == 404
        assert client.get(f"/admin/auth/user/{root.pk}/change/").status_code == 404
        assert client.get(f"/admin/auth/user/{world.clerk_b.pk}/password/").status_code == 404

    def test_it_refuses_a_clerk(self, world, login):
        client = login(world.clerk)
        assert client.get("/admin/auth/user/").status_code == 403
        assert client.post("/admin/auth/user/add/", self.data(world)).status_code == 403
        assert not User.objects.filter(username="new_clerk").exists()
