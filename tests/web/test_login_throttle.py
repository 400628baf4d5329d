"""Sign-in throttling (django-axes) on the login page: user names and addresses wait after repeated
failures, with the same message whether the user exists or not; the API's keys are not affected."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client

from prepay.api.actions import do_create_api_client

PASSWORD = "pw-Secret-123"  # tests/factories.py
WAIT_EN = "Too many failed sign-ins. Please wait 15 minutes, then try again."
WAIT_ZH = "登录失败次数过多。请等待 15 分钟后再试。"


@pytest.fixture(autouse=True)
def small_limits(settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    settings.PREPAY_LOGIN_FAILURES_PER_ADDRESS = 5
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def sign_in(username: str, password: str, address: str = "10.0.0.1", language: str = "en") -> Any:
    client = Client(HTTP_ACCEPT_LANGUAGE=language, REMOTE_ADDR=address)
    response = client.post("/login/", {"username": username, "password": password})
    response.signed_in = "_auth_user_id" in client.session
    return response


def fail(username: str, times: int, address: str = "10.0.0.1") -> Any:
    response = None
    for _ in range(times):
        response = sign_in(username, "wrong", address)
    return response


class LoginThrottleTestCase:
    def test_it_counts_failures_below_the_limit_as_ordinary_errors(self, world):
        r = fail("clerk_a1", 2)
        assert r.status_code == 200 and WAIT_EN not in r.content.decode()
        assert sign_in("clerk_a1", PASSWORD).signed_in

    def test_it_locks_a_user_name_and_refuses_even_the_right_password(self, world):
        last = fail("clerk_a1", 3)
        assert last.status_code == 429 and WAIT_EN in last.content.decode()
        right = sign_in("clerk_a1", PASSWORD)
        assert right.status_code == 429 and not right.signed_in
        html = right.content.decode()
        assert WAIT_EN in html and 'id="login-wait"' in html and 'name="username"' in html

    def test_it_says_the_same_for_a_user_name_that_does_not_exist(self, world):
        real = fail("clerk_a1", 3).content.decode()
        ghost = fail("nobody-here", 3).content.decode()
        wait = lambda html: html.split('id="login-wait"><p>')[1].split("</p>")[0]  # noqa: E731
        assert wait(real) == wait(ghost) and WAIT_EN in wait(ghost)
        assert "nobody-here" not in wait(ghost)

    def test_it_tells_a_chinese_reader_in_chinese(self, world):
        fail("clerk_a1", 3)
        r = sign_in("clerk_a1", PASSWORD, language="zh-hans")
        assert r.status_code == 429 and WAIT_ZH in r.content.decode()

    def test_it_locks_an_address_after_its_own_higher_limit(self, world):
        for name in ("a", "b", "c", "d", "e"):
            sign_in(name, "wrong", "10.0.0.9")
        r = sign_in("cashier_a1", PASSWORD, "10.0.0.9")
        assert r.status_code == 429 and not r.signed_in
        assert sign_in("cashier_a1", PASSWORD, "10.0.0.10").signed_in

    def test_it_leaves_other_users_and_addresses_alone(self, world):
        fail("clerk_a1", 3, "10.0.0.1")
        assert sign_in("cashier_a1", PASSWORD, "10.0.0.1").signed_in  # another user, same address
        assert not sign_in("clerk_a1", PASSWORD, "10.0.0.2").signed_in  # the name waits everywhere

    def test_it_lets_the_user_in_again_after_the_cool_off(self, world, clock):
        fail("clerk_a1", 3)
        clock.shift(timedelta(minutes=14))
        assert not sign_in("clerk_a1", PASSWORD).signed_in  # this refused try starts the wait again
        clock.shift(timedelta(minutes=16))
        assert sign_in("clerk_a1", PASSWORD).signed_in

    def test_it_counts_the_back_office_sign_in_too(self, world):
        client = Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR="10.0.0.1")
        for _ in range(3):
            r = client.post("/admin/login/", {"username": "admin_a", "password": "wrong"})
        assert r.status_code == 429 and WAIT_EN in r.content.decode()
        assert not sign_in("admin_a", PASSWORD).signed_in

    def test_it_never_counts_api_keys(self, world):
        _client, key = do_create_api_client(
            group=world.a1.group,
            site=world.a1.site,
            name="bank",
            scopes=["read"],
            roles=["cashier"],
            actor=world.admin,
        )
        fail("x", 5, "127.0.0.1")  # the test client's address is locked
        api = Client(REMOTE_ADDR="127.0.0.1")
        for _ in range(5):
            assert api.get("/api/accounts?q=x", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        bad = api.get("/api/accounts?q=x", headers={"Authorization": "Bearer pp_000000000000_wrong"})
        assert bad.status_code == 401
        assert AccessAttempt.objects.filter(username__startswith="api.").count() == 0

    def test_it_takes_the_address_the_nearest_proxy_saw(self, world, settings):
        settings.PREPAY_PROXY_COUNT = 1
        client = Client(REMOTE_ADDR="192.168.1.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
        client.post("/login/", {"username": "clerk_a1", "password": "wrong"})
        assert AccessAttempt.objects.get().ip_address == "203.0.113.7"

    def test_it_can_be_switched_off(self, world, settings):
        settings.AXES_ENABLED = False
        fail("clerk_a1", 4)
        assert sign_in("clerk_a1", PASSWORD).signed_in
