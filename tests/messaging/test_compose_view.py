"""Writing a message: where one may write, about an account, every refusal in both languages."""

from __future__ import annotations

from typing import Any

import pytest

from prepay.messaging.models import Message
from tests import factories as f
from tests.messaging.conftest import client_for, nothing_written

URL = "/messages/new/"


class ComposeViewTestCase:
    def test_it_offers_only_where_the_user_may_write(self, talk: Any) -> None:
        w = talk.world
        html = client_for(w.cashier).get(URL).content.decode()
        assert f'value="site:{w.a1.site.pk}"' in html and f'value="site:{w.a2.site.pk}"' not in html
        assert f'value="user:{w.clerk.pk}"' in html and f'value="user:{w.admin.pk}"' in html
        assert f'value="user:{w.clerk_a2.pk}"' not in html and f'value="user:{w.clerk_b.pk}"' not in html
        assert 'value="group:' not in html  # site staff do not write to the whole group
        admin = client_for(w.admin).get(URL).content.decode()
        assert f'value="group:{w.a1.group.pk}"' in admin and f'value="site:{w.a2.site.pk}"' in admin
        assert f'value="user:{w.clerk_a2.pk}"' in admin and f'value="site:{w.b1.site.pk}"' not in admin

    def test_it_sends_to_a_site(self, talk: Any) -> None:
        w = talk.world
        r = client_for(w.cashier).post(URL, {"to": f"site:{w.a1.site.pk}", "body": "Printer out of paper"})
        m = Message.objects.get()
        assert r.status_code == 302 and r["Location"] == f"/messages/{m.pk}/"
        assert (m.site, m.sender, m.body) == (w.a1.site, w.cashier, "Printer out of paper")

    def test_it_sends_to_a_person_and_group_wide(self, talk: Any) -> None:
        w = talk.world
        client_for(w.cashier).post(URL, {"to": f"user:{w.finance.pk}", "body": "Cash-up differs"})
        client_for(w.finance).post(URL, {"to": f"group:{w.a1.group.pk}", "body": "Audit on Friday"})
        assert [(m.audience, m.body) for m in Message.objects.order_by("pk")] == [
            ("person", "Cash-up differs"),
            ("group", "Audit on Friday"),
        ]

    def test_it_writes_about_an_account_and_goes_back_to_it(self, talk: Any) -> None:
        w = talk.world
        url = f"{URL}?account={talk.account.pk}"
        html = client_for(w.clerk).get(url).content.decode()
        assert talk.account.number in html and f'value="site:{w.a1.site.pk}"' in html
        assert f'value="user:{w.finance.pk}"' in html and f'value="user:{w.clerk_a2.pk}"' not in html
        r = client_for(w.clerk).post(url, {"to": f"site:{w.a1.site.pk}", "body": "Tamper seal broken"})
        assert (
            r.status_code == 302 and r["Location"] == f"/counter/accounts/{talk.account.pk}/#account-messages"
        )
        assert Message.objects.get().account == talk.account

    def test_it_preselects_the_reply_target(self, talk: Any) -> None:
        w = talk.world
        html = client_for(w.clerk).get(f"{URL}?to=user:{w.cashier.pk}").content.decode()
        assert f'<option value="user:{w.cashier.pk}" selected>' in html

    @pytest.mark.parametrize(
        ("language", "words"), [("en", "an empty message is not sent"), ("zh-hans", "空消息不会发送")]
    )
    def test_it_refuses_an_empty_body(self, talk: Any, language: str, words: str) -> None:
        w = talk.world
        with nothing_written():
            r = client_for(w.cashier, language).post(URL, {"to": f"site:{w.a1.site.pk}", "body": "  \r\n "})
        assert r.status_code == 400 and words in r.content.decode()

    @pytest.mark.parametrize(("language", "words"), [("en", "control character"), ("zh-hans", "控制字符")])
    def test_the_middleware_refuses_control_characters(self, talk: Any, language: str, words: str) -> None:
        w = talk.world
        with nothing_written():
            r = client_for(w.cashier, language).post(URL, {"to": f"site:{w.a1.site.pk}", "body": "a\x00b"})
        assert r.status_code == 400 and words in r.content.decode()
        assert 'data-testid="control-characters"' in r.content.decode()

    def test_it_refuses_an_over_long_body(self, talk: Any) -> None:
        w = talk.world
        with nothing_written():
            r = client_for(w.cashier).post(URL, {"to": f"site:{w.a1.site.pk}", "body": "x" * 4001})
        assert r.status_code == 400 and "at most 4000 characters" in r.content.decode()

    @pytest.mark.parametrize(
        ("language", "invalid", "missing"),
        [
            ("en", "choose a site, your group or a person from the list", "Choose whom the message is for."),
            ("zh-hans", "请从列表中选择站点、本集团或某个人", "请选择收件人。"),
        ],
    )
    def test_it_refuses_a_destination_outside_the_list(
        self, talk: Any, language: str, invalid: str, missing: str
    ) -> None:
        w = talk.world
        c = client_for(w.clerk, language)
        with nothing_written():
            for to in (f"site:{w.b1.site.pk}", f"user:{w.clerk_b.pk}", f"group:{w.a1.group.pk}", "user:x"):
                r = c.post(URL, {"to": to, "body": "hi"})
                assert r.status_code == 400 and invalid in r.content.decode()
            r = c.post(URL, {"to": "", "body": "hi"})
            assert r.status_code == 400 and missing in r.content.decode()

    def test_it_refuses_the_whole_group_about_an_account(self, talk: Any) -> None:
        w = talk.world
        with nothing_written():
            r = client_for(w.admin).post(
                f"{URL}?account={talk.account.pk}", {"to": f"group:{w.a1.group.pk}", "body": "x"}
            )
        assert r.status_code == 400  # not offered about an account

    @pytest.mark.parametrize("outsider", ["clerk_a2", "clerk_b"])
    def test_an_account_outside_the_sites_is_not_found(self, talk: Any, outsider: str) -> None:
        c = client_for(getattr(talk.world, outsider))
        with nothing_written():
            assert c.get(f"{URL}?account={talk.account.pk}").status_code == 404
            assert c.post(f"{URL}?account={talk.account.pk}", {"to": "", "body": "x"}).status_code == 404
            assert c.get(f"{URL}?account=abc").status_code == 404

    def test_it_refuses_a_user_without_a_role(self, talk: Any) -> None:
        with nothing_written():
            assert client_for(f.user("nobody")).post(URL, {"to": "", "body": "x"}).status_code == 403
