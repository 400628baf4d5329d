"""queries.unread_count: visible, not one's own, no receipt — in one query."""

from __future__ import annotations

from typing import Any

from prepay.messaging.actions import do_mark_read, do_send_message
from prepay.messaging.queries import unread_count


class UnreadCountTestCase:
    def test_it_counts_what_one_may_read_and_has_not(self, talk: Any) -> None:
        w = talk.world
        a = do_send_message(actor=w.clerk, site=w.a1.site, body="one")
        do_send_message(actor=w.admin, group=w.a1.group, body="two")
        do_send_message(actor=w.clerk, recipient=w.cashier, body="three")
        assert unread_count(w.cashier) == 3
        assert unread_count(w.clerk) == 1  # its own two do not count
        assert unread_count(w.clerk_a2) == 1  # the group-wide one
        assert unread_count(w.clerk_b) == 0
        do_mark_read(actor=w.cashier, messages=[a])
        assert unread_count(w.cashier) == 2

    def test_it_is_one_query(self, talk: Any, django_assert_num_queries: Any) -> None:
        w = talk.world
        do_send_message(actor=w.clerk, site=w.a1.site, body="one")
        with django_assert_num_queries(1):
            assert unread_count(w.finance) == 1
