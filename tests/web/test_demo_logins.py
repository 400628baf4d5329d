"""`make demo`: each printed demo user can log in and sees only what their role and sites allow."""

from __future__ import annotations

import pytest
from django.test import Client

from prepay.demo.data import load_demo


@pytest.fixture
def demo_users(db, tmp_path):
    _created, rows = load_demo(tmp_path)
    return {name: password for name, password, _desc in rows}


class DemoLoginTestCase:
    def test_it_lets_every_demo_user_log_in_to_home_and_back_office(self, demo_users):
        for username, password in demo_users.items():
            client = Client(HTTP_ACCEPT_LANGUAGE="en")
            response = client.post("/login/", {"username": username, "password": password})
            assert response.status_code == 302, username
            assert client.get("/").status_code == 200, username
            back_office = 403 if username.startswith("cashier.") else 200
            assert client.get("/admin/").status_code == back_office, username

    def test_it_shows_a_site_clerk_only_their_site(self, demo_users):
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.post("/login/", {"username": "clerk.rg", "password": demo_users["clerk.rg"]})
        sites = [s.code for s in client.get("/").context["sites"]]
        assert sites == ["riverside"]
        assert client.get("/admin/audit/auditevent/").status_code == 403

    def test_it_shows_group_finance_every_site(self, demo_users):
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.post("/login/", {"username": "finance", "password": demo_users["finance"]})
        assert len(client.get("/").context["sites"]) >= 2
        assert client.get("/admin/audit/auditevent/").status_code == 200
        assert client.get("/admin/customers/customer/add/").status_code == 403
