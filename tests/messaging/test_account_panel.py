"""The account page's messages panel: the messages about the account the user may read, and a
"write about this account" link; a message links back to the account."""

from __future__ import annotations

from typing import Any

import pytest

from prepay.messaging.actions import do_send_message
from tests.messaging.conftest import client_for


class AccountPanelTestCase:
    def test_it_shows_the_messages_about_the_account(self, talk: Any) -> None:
        w = talk.world
        m = do_send_message(actor=w.clerk, site=w.a1.site, account=talk.account, body="Customer moving out")
        other = do_send_message(actor=w.clerk, site=w.a1.site, body="Not about it")
        html = client_for(w.cashier).get(f"/counter/accounts/{talk.account.pk}/").content.decode()
        assert (
            'id="account-messages"' in html and "Customer moving out" in html and "Not about it" not in html
        )
        assert f'href="/messages/{m.pk}/"' in html and f'href="/messages/{other.pk}/"' not in html
        assert f'href="/messages/new/?account={talk.account.pk}" id="account-write-message"' in html

    def test_it_keeps_private_messages_private(self, talk: Any) -> None:
        w = talk.world
        do_send_message(actor=w.cashier, recipient=w.finance, account=talk.account, body="Refund question")
        assert (
            "Refund question"
            in client_for(w.finance).get(f"/counter/accounts/{talk.account.pk}/").content.decode()
        )
        html = client_for(w.clerk).get(f"/counter/accounts/{talk.account.pk}/").content.decode()
        assert "Refund question" not in html and 'id="no-account-messages"' in html

    @pytest.mark.parametrize("outsider", ["clerk_a2", "clerk_b"])
    def test_outsiders_get_not_found(self, talk: Any, outsider: str) -> None:
        w = talk.world
        do_send_message(actor=w.clerk, site=w.a1.site, account=talk.account, body="A1 matter")
        r = client_for(getattr(w, outsider)).get(f"/counter/accounts/{talk.account.pk}/")
        assert r.status_code == 404 and "A1 matter" not in r.content.decode()

    def test_it_speaks_chinese(self, talk: Any) -> None:
        html = (
            client_for(talk.world.cashier, "zh-hans")
            .get(f"/counter/accounts/{talk.account.pk}/")
            .content.decode()
        )
        assert "关于此账户的消息" in html and "就此账户写消息" in html
