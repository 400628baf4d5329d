"""The back office's failed sign-ins: an admin sees the lockouts of their staff and lifts them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client

from prepay.audit.models import AuditEvent
from tests import factories as f

PASSWORD = "pw-Secret-123"
URL = "/admin/web/failedsignin/"


@pytest.fixture(autouse=True)
def small_limits(settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    settings.PREPAY_LOGIN_FAILURES_PER_ADDRESS = 10
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def lock(username: str, address: str = "10.0.0.1") -> None:
    client = Client(REMOTE_ADDR=address)
    for _ in range(3):
        client.post("/login/", {"username": username, "password": "wrong"})


def signs_in(username: str, address: str = "10.0.0.1") -> bool:
    client = Client(REMOTE_ADDR=address)
    client.post("/login/", {"username": username, "password": PASSWORD})
    return "_auth_user_id" in client.session


def back_office(user: Any, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def lift(client: Client, *ids: int) -> Any:
    return client.post(URL, {"action": "lift", "_selected_action": [str(i) for i in ids]}, follow=True)


class FailedSignInAdminTestCase:
    def test_it_shows_a_lockout_to_the_admin_who_lifts_it(self, world):
        lock("clerk_a1")
        assert not signs_in("clerk_a1")
        admin = back_office(world.admin)
        page = admin.get(URL)
        html = page.content.decode()
        assert page.status_code == 200 and "clerk_a1" in html and "must wait until" in html
        row = AccessAttempt.objects.get(username="clerk_a1")
        done = lift(admin, row.pk)
        assert "Lifted: 1 failed sign-ins forgotten." in done.content.decode()
        assert not AccessAttempt.objects.exists()
        event = AuditEvent.objects.get(verb="login.unlock")
        assert event.after["username"] == "clerk_a1" and event.group_id == world.a1.group.pk
        assert signs_in("clerk_a1")

    def test_it_speaks_chinese(self, world):
        lock("clerk_a1")
        html = back_office(world.admin, "zh-hans").get(URL).content.decode()
        assert "登录失败" in html and "须等待至" in html

    def test_it_hides_the_lockouts_of_other_groups_and_names_of_nobody(self, world):
        lock("clerk_b1")
        lock("nobody-here", "10.0.0.2")
        html = back_office(world.admin).get(URL).content.decode()
        assert "clerk_b1" not in html and "nobody-here" not in html
        other = AccessAttempt.objects.get(username="clerk_b1")
        lift(back_office(world.admin), other.pk)
        assert AccessAttempt.objects.filter(pk=other.pk).exists()
        assert AccessAttempt.objects.filter(username="nobody-here").exists()

    def test_a_platform_operator_sees_and_lifts_every_lockout(self, world):
        root = f.user("root", is_superuser=True)
        lock("nobody-here", "10.0.0.2")
        lock("clerk_b1")
        operator = back_office(root)
        html = operator.get(URL).content.decode()
        assert "nobody-here" in html and "clerk_b1" in html
        lift(operator, *AccessAttempt.objects.values_list("pk", flat=True))
        assert not AccessAttempt.objects.exists()
        assert signs_in("clerk_b1")

    def test_a_role_without_staff_management_cannot_see_it(self, world):
        lock("clerk_a1")
        assert back_office(world.finance).get(URL).status_code == 403
        assert back_office(world.clerk).get(URL).status_code == 403
        assert AccessAttempt.objects.count() == 1

    def test_an_admin_of_another_group_sees_nothing_of_ours(self, world):
        admin_b = f.user("admin_b", memberships=[(world.b1.group, None, "admin")])
        lock("clerk_a1")
        page = back_office(admin_b).get(URL)
        assert page.status_code == 200 and "clerk_a1" not in page.content.decode()
        lift(back_office(admin_b), AccessAttempt.objects.get().pk)
        assert AccessAttempt.objects.count() == 1

    def test_nobody_adds_or_edits_rows(self, world):
        lock("clerk_a1")
        row = AccessAttempt.objects.get()
        admin = back_office(world.admin)
        assert admin.get(f"{URL}add/").status_code == 403
        before = row.failures_since_start
        admin.post(f"{URL}{row.pk}/change/", {"failures_since_start": 0})
        row.refresh_from_db()
        assert row.failures_since_start == before
