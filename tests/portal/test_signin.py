"""Signing in to the portal with a one-time code: sent through the site's SMS gateway or e-mail,
short-lived, single-use, hashed at rest, throttled per account and per address, with the same answer
whether or not the number is anybody's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client

from prepay.audit.models import AuditEvent
from prepay.notify.models import Channel
from prepay.portal.models import OneTimeCode, PortalAttempt, PortalSession
from tests import factories as f


def _page(response) -> str:
    return response.content.decode()


class SignInViewTestCase:
    def test_it_sends_a_code_by_sms_and_signs_in(self, portal):
        client = Client()
        r = portal.ask(client)
        assert r.status_code == 200 and 'id="code-step"' in _page(r)
        sent = portal.sms.received[-1]
        assert sent["phone"] == "13812345678" and "sign-in code" in sent["text"]
        r = portal.enter(client, portal.last_code())
        assert (
            r.status_code == 302
            and r["Location"] == f"/portal/a/{portal.account.number}/"
            or r["Location"] == "/portal/"
        )
        cookie = r.cookies["prepay_portal"]
        assert cookie["httponly"] and cookie["path"] == "/portal/" and cookie["samesite"] == "Lax"
        session = PortalSession.objects.get()
        assert session.customer == portal.account.customer
        assert AuditEvent.objects.filter(
            verb="portal.signin", actor_name=f"customer:{session.customer.number}"
        ).exists()

    def test_it_signs_in_with_the_meter_number_too(self, portal):
        client = portal.sign_in(identifier=portal.pay.shop.meter.serial.lower())
        assert client.get(f"/portal/a/{portal.account.number}/").status_code == 200

    def test_it_sends_by_email_when_asked_and_there_is_a_channel(self, portal):
        Channel.objects.create(
            group=portal.pay.shop.world.a1.group, kind="email", name="Mail", config={"from": "x@y.cn"}
        )
        r = Client().post("/portal/signin/", {"identifier": portal.account.number, "via": "email"})
        assert r.status_code == 200 and len(mail.outbox) == 1 and portal.sms.received == []
        assert mail.outbox[0].to == ["wang@example.cn"]
        row = OneTimeCode.objects.get()
        assert row.channel == "email" and row.destination == "w***@example.cn" and row.delivered

    def test_it_keeps_only_a_keyed_hash_of_the_code(self, portal):
        portal.ask(Client())
        code = portal.last_code()
        row = OneTimeCode.objects.get()
        assert code not in (row.code_hash + row.salt) and len(row.code_hash) == 64
        assert row.destination == "138****5678" and row.delivered is True

    def test_it_answers_the_same_for_a_number_nobody_has(self, portal):
        known = portal.ask(Client())
        unknown = portal.ask(Client(), "A9999999")
        assert unknown.status_code == known.status_code == 200
        strip = lambda r: _page(r).replace(portal.account.number, "X").replace("A9999999", "X")  # noqa: E731
        csrf = lambda s: __import__("re").sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", s)  # noqa: E731
        assert csrf(strip(known)) == csrf(strip(unknown))
        assert len(portal.sms.received) == 1 and OneTimeCode.objects.count() == 1

    def test_a_code_is_single_use(self, portal):
        client = Client()
        portal.ask(client)
        code = portal.last_code()
        assert portal.enter(client, code).status_code == 302
        r = portal.enter(Client(), code)
        assert r.status_code == 400 and "wrong or no longer good" in _page(r)
        assert PortalSession.objects.count() == 1

    def test_a_code_expires(self, portal, clock):
        client = Client()
        portal.ask(client)
        clock.shift(timedelta(minutes=5, seconds=1))
        r = portal.enter(client, portal.last_code())
        assert r.status_code == 400 and PortalSession.objects.count() == 0

    def test_a_newer_code_replaces_the_older(self, portal, clock):
        client = Client()
        portal.ask(client)
        first = portal.last_code()
        clock.shift(timedelta(seconds=30))
        portal.ask(client)
        if portal.last_code() != first:
            assert portal.enter(client, first).status_code == 400
        assert portal.enter(client, portal.last_code()).status_code == 302

    def test_wrong_tries_spend_the_code(self, portal, settings):
        settings.PREPAY_PORTAL_CODE_TRIES = 3
        client = Client()
        portal.ask(client)
        code = portal.last_code()
        wrong = "000000" if code != "000000" else "111111"
        for _ in range(3):
            assert portal.enter(client, wrong).status_code == 400
        assert portal.enter(client, code).status_code == 400  # spent: ask for a new one

    def test_it_throttles_codes_per_account_in_both_languages(self, portal, clock):
        client = Client()
        for _ in range(3):
            assert portal.ask(client).status_code == 200
        r = portal.ask(client, HTTP_ACCEPT_LANGUAGE="en")
        assert r.status_code == 429 and "Too many codes were asked for. Please wait 15 minutes" in _page(r)
        r = portal.ask(client, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert r.status_code == 429 and "请求验证码的次数过多" in _page(r)
        assert len(portal.sms.received) == 3
        # the meter number names the same account: counted together
        assert portal.ask(client, portal.pay.shop.meter.serial).status_code == 429
        clock.shift(timedelta(minutes=16))
        assert portal.ask(client).status_code == 200

    def test_an_unknown_number_is_throttled_alike(self, portal):
        client = Client()
        for _ in range(3):
            assert portal.ask(client, "NOBODY1").status_code == 200
        assert portal.ask(client, "NOBODY1").status_code == 429
        assert PortalAttempt.objects.count() == 3

    def test_it_throttles_per_address(self, portal, settings):
        settings.PREPAY_PORTAL_CODES_PER_ADDRESS = 4
        client = Client()
        for i in range(4):
            assert portal.ask(client, f"NOBODY{i}").status_code == 200
        assert portal.ask(client, portal.account.number).status_code == 429
        other = Client(REMOTE_ADDR="10.0.0.9")
        assert portal.ask(other, portal.account.number).status_code == 200

    def test_it_throttles_wrong_codes(self, portal, settings):
        settings.PREPAY_PORTAL_FAILURES_PER_ACCOUNT = 2
        client = Client()
        portal.ask(client)
        code = portal.last_code()
        wrong = "000000" if code != "000000" else "111111"
        portal.enter(client, wrong)
        portal.enter(client, wrong)
        r = portal.enter(client, code, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert r.status_code == 429 and "验证码错误次数过多" in _page(r)
        assert PortalSession.objects.count() == 0

    def test_a_customer_without_phone_or_channel_gets_no_code_and_the_same_page(self, portal):
        acc = f.account(portal.pay.shop.world.a1, customer=f.customer(portal.pay.shop.world.a1))
        r = portal.ask(Client(), acc.number)
        assert r.status_code == 200 and portal.sms.received == []
        row = OneTimeCode.objects.get()
        assert row.delivered is False and row.error

    @pytest.mark.parametrize("data", [{}, {"identifier": ""}, {"identifier": "x" * 41}])
    def test_it_refuses_an_empty_or_long_number_with_a_message(self, portal, data):
        r = Client().post("/portal/signin/", data)
        assert r.status_code == 400 and OneTimeCode.objects.count() == 0

    def test_the_forms_need_the_csrf_token(self, portal):
        client = Client(enforce_csrf_checks=True)
        assert portal.ask(client).status_code == 403
