"""Sending sign-in codes in the background (PostgreSQL: the sending thread has its own connection and
sees the committed code): the answer does not wait for the SMS gateway, the code arrives, and the
code's row records the delivery."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from prepay.portal.models import OneTimeCode

pytestmark = pytest.mark.services


def _wait(predicate, seconds: float = 15.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


class BackgroundCodeSendingTestCase:
    def test_the_code_is_sent_after_the_answer(self, pg_transactional, portal, settings):
        settings.PREPAY_PORTAL_SEND_INLINE = False
        r = portal.ask(Client())
        assert r.status_code == 200
        assert _wait(lambda: len(portal.sms.received) == 1)
        assert _wait(lambda: OneTimeCode.objects.filter(delivered=True).exists())
        r = portal.enter(Client(), portal.last_code())
        assert r.status_code == 302

    def test_an_unknown_number_answers_alike_and_sends_nothing(self, pg_transactional, portal, settings):
        settings.PREPAY_PORTAL_SEND_INLINE = False
        assert portal.ask(Client(), "NOBODY").status_code == 200
        time.sleep(0.3)
        assert portal.sms.received == [] and OneTimeCode.objects.count() == 0
