"""The top bar's unread badge: its own URL, polled by htmx; cheap; staff with a role only."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from prepay.messaging.actions import do_mark_read, do_send_message
from tests import factories as f
from tests.messaging.conftest import client_for

URL = "/messages/badge/"


class BadgeViewTestCase:
    def test_it_shows_the_unread_count_and_polls(self, talk: Any) -> None:
        w = talk.world
        c = client_for(w.cashier)
        empty = c.get(URL, HTTP_HX_REQUEST="true").content.decode()
        assert 'data-count="0"' in empty and "unread-badge none" in empty
        m = do_send_message(actor=w.clerk, site=w.a1.site, body="one")
        do_send_message(actor=w.clerk, recipient=w.cashier, body="two")
        html = c.get(URL, HTTP_HX_REQUEST="true").content.decode()
        assert (
            'data-count="2"' in html
            and 'hx-trigger="every 10s"' in html
            and 'hx-get="/messages/badge/"' in html
        )
        do_mark_read(actor=w.cashier, messages=[m])
        assert 'data-count="1"' in c.get(URL).content.decode()

    def test_it_polls_as_often_as_configured(self, talk: Any, settings: Any) -> None:
        settings.PREPAY_MESSAGES_POLL_SECONDS = 2
        assert 'hx-trigger="every 2s"' in client_for(talk.world.cashier).get(URL).content.decode()

    def test_it_runs_no_navigation_queries(self, talk: Any) -> None:
        c = client_for(talk.world.cashier)
        with CaptureQueriesContext(connection) as queries:
            c.get(URL, HTTP_HX_REQUEST="true")
        counts = [q["sql"] for q in queries.captured_queries if "messaging_message" in q["sql"]]
        assert len(counts) == 1
        # session, user, memberships (the role check), the count
        assert len(queries.captured_queries) <= 4

    def test_it_never_counts_outside_the_sites(self, talk: Any) -> None:
        w = talk.world
        do_send_message(actor=w.clerk, site=w.a1.site, body="A1")
        do_send_message(actor=w.admin, group=w.a1.group, body="group A")
        assert 'data-count="1"' in client_for(w.clerk_a2).get(URL).content.decode()
        assert 'data-count="0"' in client_for(w.clerk_b).get(URL).content.decode()

    def test_it_answers_401_when_signed_out(self, talk: Any) -> None:
        assert Client().get(URL, HTTP_HX_REQUEST="true").status_code == 401

    def test_it_refuses_a_user_without_a_role(self, talk: Any) -> None:
        assert client_for(f.user("nobody")).get(URL).status_code == 403

    def test_it_speaks_chinese(self, talk: Any) -> None:
        do_send_message(actor=talk.world.clerk, site=talk.world.a1.site, body="one")
        assert "未读" in client_for(talk.world.cashier, "zh-hans").get(URL).content.decode()
