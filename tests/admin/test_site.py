"""The admin site: who may enter, branding, language switch."""

from __future__ import annotations

from tests import factories as f


class AdminSiteTestCase:
    def test_it_lets_a_member_in_and_shows_prepay_branding(self, world, login):
        response = login(world.clerk).get("/admin/")
        assert response.status_code == 200
        assert b"Prepay" in response.content
        assert b'action="/i18n/setlang/"' in response.content

    def test_it_refuses_a_staff_user_without_membership(self, world, login):
        loner = f.user("loner")
        response = login(loner).get("/admin/")
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]

    def test_it_refuses_a_member_who_is_not_staff(self, world, login):
        world.clerk.is_staff = False
        world.clerk.save()
        response = login(world.clerk).get("/admin/")
        assert response.status_code == 302

    def test_it_lets_a_superuser_in_without_membership(self, world, login):
        root = f.user("root", is_superuser=True)
        assert login(root).get("/admin/").status_code == 200

    def test_it_keeps_cashiers_out_of_the_back_office(self, world, login):
        client = login(world.cashier)
        assert client.get("/admin/").status_code == 403
        assert client.get("/admin/customers/customer/").status_code == 403

    def test_it_hides_models_the_user_may_not_see(self, world, login):
        content = login(world.clerk).get("/admin/").content
        assert b"/admin/customers/customer/" in content
        assert b"/admin/audit/auditevent/" not in content
        assert b"/admin/tenancy/membership/" not in content
        assert b"/admin/auth/group/" not in content

    def test_it_ignores_django_model_permissions(self, world, login):
        from django.contrib.auth.models import Permission

        world.cashier.user_permissions.set(Permission.objects.filter(codename="add_building"))
        assert login(world.cashier).get("/admin/customers/building/add/").status_code == 403
