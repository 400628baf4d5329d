"""The top bar: a Messages link with the unread badge for every role; the count is one query, run
only on full pages (never for htmx fragments)."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django_htmx.middleware import HtmxDetails

from prepay.messaging.actions import do_send_message
from prepay.web.context import navigation
from tests import factories as f
from tests.messaging.conftest import client_for


def request_for(user: Any, **headers: Any) -> Any:
    request = RequestFactory().get("/", **headers)
    request.user = user
    request.htmx = HtmxDetails(request)  # type: ignore[attr-defined]
    return request


class NavigationTestCase:
    def test_every_page_shows_the_badge_with_the_count(self, talk: Any) -> None:
        w = talk.world
        do_send_message(actor=w.clerk, site=w.a1.site, body="one")
        html = client_for(w.cashier).get("/").content.decode()
        assert (
            'id="nav-messages"' in html and 'data-count="1"' in html and 'hx-get="/messages/badge/"' in html
        )

    def test_the_count_is_one_query_and_lazy(self, talk: Any, django_assert_num_queries: Any) -> None:
        w = talk.world
        do_send_message(actor=w.clerk, site=w.a1.site, body="one")
        nav = navigation(request_for(w.cashier))["nav"]
        assert nav["messages"] is True
        with django_assert_num_queries(1):
            assert nav["unread"]() == 1
        with django_assert_num_queries(0):
            assert nav["unread"]() == 1  # computed once per request

    def test_htmx_fragments_never_count(self, talk: Any) -> None:
        w = talk.world
        assert navigation(request_for(w.cashier, HTTP_HX_REQUEST="true"))["nav"]["unread"] is None
        boosted = request_for(w.cashier, HTTP_HX_REQUEST="true", HTTP_HX_BOOSTED="true")
        assert callable(navigation(boosted)["nav"]["unread"])  # a boosted page has a top bar
        c = client_for(w.cashier)
        with CaptureQueriesContext(connection) as queries:  # a fragment rendered with the nav context
            r = c.get("/counter/search/?q=A", HTTP_HX_REQUEST="true")
        assert r.status_code in (200, 403)
        assert not [q for q in queries.captured_queries if "messaging_message" in q["sql"]]

    def test_no_link_without_a_role(self, talk: Any) -> None:
        html = client_for(f.user("nobody")).get("/").content.decode()
        assert 'id="nav-messages"' not in html and "unread-badge" not in html
