"""Portal sessions: short (idle and absolute limits), ended by signing out, apart from staff sign-in in
both directions."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client

from prepay.audit.models import AuditEvent
from prepay.portal.models import PortalSession


class PortalSessionTestCase:
    def test_pages_need_a_signed_in_customer(self, portal):
        url = f"/portal/a/{portal.account.number}/"
        r = Client().get(url)
        assert r.status_code == 302 and r["Location"] == "/portal/signin/"
        assert Client().get(url + "consumption.json").status_code == 401

    def test_it_ends_after_being_idle(self, portal, clock):
        client = portal.sign_in()
        url = f"/portal/a/{portal.account.number}/"
        clock.shift(timedelta(minutes=14))
        assert client.get(url).status_code == 200
        clock.shift(timedelta(minutes=14))  # the request above counted as activity
        assert client.get(url).status_code == 200
        clock.shift(timedelta(minutes=15, seconds=1))
        assert client.get(url).status_code == 302

    def test_it_ends_at_the_latest_an_hour_after_sign_in(self, portal, clock):
        client = portal.sign_in()
        url = f"/portal/a/{portal.account.number}/"
        for _ in range(4):
            clock.shift(timedelta(minutes=14))
            assert client.get(url).status_code == 200
        clock.shift(timedelta(minutes=5))
        assert client.get(url).status_code == 302

    def test_signing_out_ends_it_at_once(self, portal):
        client = portal.sign_in()
        key = client.cookies["prepay_portal"].value
        r = client.post("/portal/signout/")
        assert r.status_code == 302 and r.cookies["prepay_portal"].value == ""
        thief = Client()
        thief.cookies["prepay_portal"] = key
        assert thief.get(f"/portal/a/{portal.account.number}/").status_code == 302
        assert PortalSession.objects.get().ended_at is not None
        assert AuditEvent.objects.filter(verb="portal.signout").count() == 1

    def test_a_staff_sign_in_opens_no_portal_page(self, portal):
        client = Client()
        client.force_login(portal.pay.shop.world.admin)
        assert client.get(f"/portal/a/{portal.account.number}/").status_code == 302

    def test_a_portal_session_opens_no_staff_page(self, portal):
        client = portal.sign_in()
        for url in ["/counter/", "/admin/", f"/counter/accounts/{portal.account.pk}/", "/reports/"]:
            r = client.get(url)
            assert r.status_code in (302, 403) and "/login/" in r.get("Location", "/login/")
        assert client.get("/api/accounts?q=" + portal.account.number).status_code == 401

    def test_pages_are_not_cached(self, portal):
        client = portal.sign_in()
        r = client.get(f"/portal/a/{portal.account.number}/")
        assert "no-store" in r["Cache-Control"]

    def test_a_forged_cookie_is_nobody(self, portal):
        client = Client()
        client.cookies["prepay_portal"] = "x" * 43
        assert client.get("/portal/").status_code == 302
