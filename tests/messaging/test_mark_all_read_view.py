"""Mark all as read: receipts for every unread message the user may read, none for others'."""

from __future__ import annotations

from typing import Any

from prepay.messaging.actions import do_send_message
from prepay.messaging.models import MessageRead
from prepay.messaging.queries import unread_count
from tests import factories as f
from tests.messaging.conftest import client_for, nothing_written

URL = "/messages/read/"


class MarkAllReadViewTestCase:
    def test_it_marks_every_unread_message_read(self, talk: Any) -> None:
        w = talk.world
        do_send_message(actor=w.clerk, site=w.a1.site, body="one")
        do_send_message(actor=w.admin, group=w.a1.group, body="two")
        private = do_send_message(actor=w.clerk, recipient=w.admin, body="not for the cashier")
        r = client_for(w.cashier).post(URL, follow=True)
        assert r.status_code == 200 and "2 messages marked as read." in r.content.decode()
        assert unread_count(w.cashier) == 0 and unread_count(w.admin) == 2
        assert not MessageRead.objects.filter(message=private, user=w.cashier).exists()

    def test_it_speaks_chinese(self, talk: Any) -> None:
        do_send_message(actor=talk.world.clerk, site=talk.world.a1.site, body="one")
        r = client_for(talk.world.cashier, "zh-hans").post(URL, follow=True)
        assert "1 条消息已标为已读。" in r.content.decode()

    def test_it_wants_a_post(self, talk: Any) -> None:
        with nothing_written():
            assert client_for(talk.world.cashier).get(URL).status_code == 405

    def test_an_outsider_marks_nothing_of_others(self, talk: Any) -> None:
        w = talk.world
        do_send_message(actor=w.clerk, site=w.a1.site, body="A1 only")
        with nothing_written():
            client_for(w.clerk_b).post(URL)
        assert unread_count(w.cashier) == 1

    def test_it_refuses_a_user_without_a_role(self, talk: Any) -> None:
        with nothing_written():
            assert client_for(f.user("nobody")).post(URL).status_code == 403
