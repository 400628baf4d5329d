"""The pages outside the admin: login, home, language switch, logout."""

from __future__ import annotations

from django.test import Client

from tests import factories as f


class LoginPageTestCase:
    def test_it_renders_the_login_form(self, db):
        response = Client(HTTP_ACCEPT_LANGUAGE="en").get("/login/")
        assert response.status_code == 200
        content = response.content.decode()
        assert 'name="username"' in content and 'name="password"' in content
        assert "csrfmiddlewaretoken" in content
        assert 'action="/i18n/setlang/"' in content

    def test_it_logs_a_demo_user_in_and_goes_home(self, world):
        client = Client()
        response = client.post("/login/", {"username": "clerk_a1", "password": "pw-Secret-123"})
        assert response.status_code == 302 and response["Location"] == "/"
        assert client.get("/").status_code == 200

    def test_it_shows_an_error_for_a_wrong_password(self, world):
        response = Client(HTTP_ACCEPT_LANGUAGE="en").post(
            "/login/", {"username": "clerk_a1", "password": "nope"}
        )
        assert response.status_code == 200
        assert b'role="alert"' in response.content

    def test_it_sends_anonymous_visitors_to_login(self, db):
        response = Client().get("/")
        assert response.status_code == 302 and response["Location"].startswith("/login/")


class HomePageTestCase:
    def test_it_lists_only_the_users_sites(self, world):
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(world.clerk)
        content = client.get("/").content.decode()
        assert "Site a1" in content
        assert "Site a2" not in content and "Site b1" not in content

    def test_it_lists_every_site_of_the_group_for_finance(self, world):
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(world.finance)
        content = client.get("/").content.decode()
        assert "Site a1" in content and "Site a2" in content and "Site b1" not in content
        assert "All sites of the group" in content

    def test_it_shows_roles_counts_and_links_for_the_role(self, world):
        f.customer(world.a1)
        f.customer(world.a2)
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(world.clerk)
        response = client.get("/")
        assert response.context["counts"]["customers"] == 1
        content = response.content.decode()
        assert "Clerk" in content
        assert "/admin/customers/customer/add/" in content
        assert "/admin/audit/auditevent/" not in content

    def test_it_links_the_audit_log_for_an_auditor_only(self, world):
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(world.auditor)
        content = client.get("/").content.decode()
        assert "/admin/audit/auditevent/" in content
        assert "/admin/customers/customer/add/" not in content

    def test_it_offers_logout_as_a_post_form(self, world):
        client = Client()
        client.force_login(world.cashier)
        content = client.get("/").content.decode()
        assert 'action="/logout/" method="post"' in content
        assert client.post("/logout/").status_code == 302
        assert client.get("/").status_code == 302


class LanguageSwitchTestCase:
    def test_it_switches_to_english(self, world):
        client = Client()
        client.force_login(world.clerk)
        response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
        assert response.status_code == 302
        page = client.get("/")
        assert page["Content-Language"] == "en"
        assert "Your roles" in page.content.decode()

    def test_it_switches_to_simplified_chinese(self, world):
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(world.clerk)
        client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
        assert client.get("/")["Content-Language"] == "zh-hans"

    def test_it_switches_the_admin_language_too(self, world):
        client = Client()
        client.force_login(world.clerk)
        client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})
        page = client.get("/admin/")
        assert page["Content-Language"] == "en"
        assert "Prepay back office" in page.content.decode()

    def test_it_requires_the_csrf_token(self, world):
        client = Client(enforce_csrf_checks=True)
        client.force_login(world.clerk)
        assert client.post("/i18n/setlang/", {"language": "en", "next": "/"}).status_code == 403
