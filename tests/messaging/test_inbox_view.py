"""The message list: scoped, filtered, paged, refreshed by htmx; staff with a role only."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from prepay.messaging.actions import do_mark_read, do_send_message
from tests import factories as f
from tests.messaging.conftest import client_for

URL = "/messages/"


class InboxViewTestCase:
    def test_it_lists_what_the_user_may_read_with_account_links(self, talk: Any) -> None:
        w = talk.world
        a = do_send_message(actor=w.clerk, site=w.a1.site, account=talk.account, body="Meter cover open")
        b = do_send_message(actor=w.admin, group=w.a1.group, body="Holiday hours")
        html = client_for(w.cashier).get(URL).content.decode()
        assert "Meter cover open" in html and "Holiday hours" in html
        assert f'href="/counter/accounts/{talk.account.pk}/"' in html and talk.account.number in html
        assert f'data-testid="message-row-{a.pk}"' in html and f'href="/messages/{b.pk}/"' in html
        assert 'hx-trigger="every 10s"' in html  # the list refreshes itself

    @pytest.mark.parametrize("outsider", ["clerk_a2", "clerk_b"])
    def test_outsiders_never_see_a_site_message(self, talk: Any, outsider: str) -> None:
        w = talk.world
        do_send_message(actor=w.clerk, site=w.a1.site, account=talk.account, body="Secret of A1")
        html = client_for(getattr(w, outsider)).get(URL).content.decode()
        assert "Secret of A1" not in html and talk.account.number not in html and 'id="no-messages"' in html

    def test_a_private_message_stays_between_two(self, talk: Any) -> None:
        w = talk.world
        do_send_message(actor=w.cashier, recipient=w.clerk, body="Between us")
        assert "Between us" in client_for(w.clerk).get(URL).content.decode()
        assert "Between us" not in client_for(w.admin).get(URL).content.decode()

    def test_it_filters_unread_and_sent(self, talk: Any) -> None:
        w = talk.world
        read = do_send_message(actor=w.clerk, site=w.a1.site, body="Already read")
        do_send_message(actor=w.clerk, site=w.a1.site, body="Still new")
        do_send_message(actor=w.cashier, site=w.a1.site, body="Written by me")
        do_mark_read(actor=w.cashier, messages=[read])
        c = client_for(w.cashier)
        unread = c.get(URL + "?show=unread").content.decode()
        assert "Still new" in unread and "Already read" not in unread and "Written by me" not in unread
        sent = c.get(URL + "?show=sent").content.decode()
        assert "Written by me" in sent and "Still new" not in sent
        assert "Already read" in c.get(URL + "?show=nonsense&page=x").content.decode()

    def test_an_htmx_request_gets_the_list_alone(self, talk: Any) -> None:
        w = talk.world
        do_send_message(actor=w.clerk, site=w.a1.site, body="Fresh")
        r = client_for(w.cashier).get(URL, HTTP_HX_REQUEST="true")
        html = r.content.decode()
        assert r.status_code == 200 and "Fresh" in html
        assert html.lstrip().startswith('<section class="card" id="message-list"') and "<html" not in html

    def test_a_signed_out_poll_answers_401_not_the_sign_in_page(self, talk: Any) -> None:
        assert Client().get(URL, HTTP_HX_REQUEST="true").status_code == 401

    def test_it_speaks_chinese(self, talk: Any) -> None:
        html = client_for(talk.world.cashier, "zh-hans").get(URL).content.decode()
        assert "写消息" in html and "没有消息。" in html

    def test_it_refuses_a_user_without_a_role(self, talk: Any) -> None:
        assert client_for(f.user("nobody")).get(URL).status_code == 403

    def test_a_portal_visitor_is_sent_to_the_staff_sign_in(self, talk: Any) -> None:
        # the customer portal's session is its own cookie, never a staff sign-in
        c = Client()
        c.cookies["prepay_portal"] = "a-customer-session"
        r = c.get(URL)
        assert r.status_code == 302 and r["Location"].startswith("/login/")
