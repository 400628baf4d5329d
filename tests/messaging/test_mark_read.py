"""do_mark_read: one receipt per reader and message, audited; never for a message one may not read."""

from __future__ import annotations

from typing import Any

import pytest

from prepay.audit.models import AuditEvent
from prepay.common.errors import NotFound
from prepay.messaging.actions import do_mark_read, do_send_message
from prepay.messaging.models import MessageRead
from tests.conftest import FIXED_NOW
from tests.messaging.conftest import nothing_written


class MarkReadTestCase:
    def test_it_writes_one_receipt_per_reader(self, talk: Any, clock: Any) -> None:
        w = talk.world
        m = do_send_message(actor=w.clerk, site=w.a1.site, body="Stock count at 5.")
        assert do_mark_read(actor=w.cashier, messages=[m]) == 1
        assert do_mark_read(actor=w.admin, messages=[m]) == 1
        receipt = MessageRead.objects.get(message=m, user=w.cashier)
        assert receipt.read_at == FIXED_NOW
        events = AuditEvent.objects.filter(verb="message.read", object_id=str(m.pk))
        assert sorted(e.actor_name for e in events) == ["admin_a", "cashier_a1"]
        assert {e.site_id for e in events} == {w.a1.site.pk}

    def test_it_changes_nothing_when_read_again(self, talk: Any) -> None:
        w = talk.world
        m = do_send_message(actor=w.clerk, site=w.a1.site, body="again")
        do_mark_read(actor=w.cashier, messages=[m])
        with nothing_written():
            assert do_mark_read(actor=w.cashier, messages=[m]) == 0

    def test_it_needs_no_receipt_for_ones_own_message(self, talk: Any) -> None:
        w = talk.world
        m = do_send_message(actor=w.clerk, site=w.a1.site, body="mine")
        with nothing_written():
            assert do_mark_read(actor=w.clerk, messages=[m]) == 0
            assert do_mark_read(actor=w.clerk, messages=[]) == 0

    @pytest.mark.parametrize("outsider", ["clerk_a2", "clerk_b"])
    def test_it_refuses_outsiders_and_writes_nothing(self, talk: Any, outsider: str) -> None:
        w = talk.world
        m = do_send_message(actor=w.clerk, site=w.a1.site, body="site only")
        with nothing_written(), pytest.raises(NotFound):
            do_mark_read(actor=getattr(w, outsider), messages=[m])

    def test_it_refuses_a_private_message_to_someone_else(self, talk: Any) -> None:
        w = talk.world
        private = do_send_message(actor=w.cashier, recipient=w.clerk, body="just you")
        public = do_send_message(actor=w.cashier, site=w.a1.site, body="everyone")
        with nothing_written(), pytest.raises(NotFound):  # all or nothing
            do_mark_read(actor=w.admin, messages=[public, private])
