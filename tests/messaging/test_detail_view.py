"""One message: opening it reads it; the link to its account; 404 outside its audience."""

from __future__ import annotations

from typing import Any

import pytest

from prepay.messaging.actions import do_send_message
from prepay.messaging.models import MessageRead
from prepay.tenancy.models import Membership
from tests import factories as f
from tests.messaging.conftest import client_for, nothing_written


class DetailViewTestCase:
    def test_it_shows_the_message_and_marks_it_read(self, talk: Any) -> None:
        w = talk.world
        m = do_send_message(actor=w.clerk, site=w.a1.site, account=talk.account, body="Line one\nLine <two>")
        r = client_for(w.cashier).get(f"/messages/{m.pk}/")
        html = r.content.decode()
        assert r.status_code == 200
        assert "Line one<br>Line &lt;two&gt;" in html  # escaped, line breaks kept
        assert f'id="message-account" data-testid="message-account">{talk.account.number}' in html
        assert f'href="/counter/accounts/{talk.account.pk}/"' in html
        assert MessageRead.objects.filter(message=m, user=w.cashier).count() == 1
        assert f'href="/messages/new/?to=site:{w.a1.site.pk}&amp;account={talk.account.pk}"' in html

    def test_it_lists_the_read_receipts(self, talk: Any) -> None:
        w = talk.world
        m = do_send_message(actor=w.clerk, site=w.a1.site, body="who read me")
        client_for(w.cashier).get(f"/messages/{m.pk}/")
        html = client_for(w.clerk).get(f"/messages/{m.pk}/").content.decode()
        assert 'data-testid="read-by-cashier_a1"' in html and "read-by-clerk_a1" not in html

    def test_a_reply_to_a_person_goes_back_to_the_sender(self, talk: Any) -> None:
        w = talk.world
        m = do_send_message(actor=w.cashier, recipient=w.clerk, body="ping")
        html = client_for(w.clerk).get(f"/messages/{m.pk}/").content.decode()
        assert f'href="/messages/new/?to=user:{w.cashier.pk}"' in html

    @pytest.mark.parametrize("outsider", ["clerk_a2", "clerk_b", "admin"])
    def test_it_is_not_found_outside_its_audience(self, talk: Any, outsider: str) -> None:
        w = talk.world
        site_msg = do_send_message(actor=w.cashier, site=w.a1.site, body="A1")
        private = do_send_message(actor=w.cashier, recipient=w.clerk, body="private")
        c = client_for(getattr(w, outsider))
        with nothing_written():
            if outsider != "admin":
                assert c.get(f"/messages/{site_msg.pk}/").status_code == 404
            assert c.get(f"/messages/{private.pk}/").status_code == 404
            assert c.get("/messages/999999/").status_code == 404

    def test_it_hides_an_account_the_reader_may_no_longer_see(self, talk: Any) -> None:
        w = talk.world
        m = do_send_message(actor=w.admin, recipient=w.clerk, account=talk.account, body="about it")
        Membership.objects.filter(user=w.clerk).update(site=w.a2.site)  # moved to A2
        html = client_for(w.clerk).get(f"/messages/{m.pk}/").content.decode()
        assert 'id="message-account-hidden"' in html and talk.account.number not in html

    def test_it_refuses_a_user_without_a_role(self, talk: Any) -> None:
        m = do_send_message(actor=talk.world.clerk, site=talk.world.a1.site, body="x")
        assert client_for(f.user("nobody")).get(f"/messages/{m.pk}/").status_code == 403

    def test_it_speaks_chinese(self, talk: Any) -> None:
        m = do_send_message(actor=talk.world.clerk, site=talk.world.a1.site, body="x")
        html = client_for(talk.world.cashier, "zh-hans").get(f"/messages/{m.pk}/").content.decode()
        assert "已读" in html and "回复" in html
