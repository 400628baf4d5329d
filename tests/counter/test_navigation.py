"""Navigation by role and the language switch on the counter's pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from tests.counter.conftest import client_for


class NavigationTestCase:
    def test_it_shows_a_cashier_the_counter_and_no_back_office(self, world: Any) -> None:
        html = client_for(world.cashier).get("/counter/accounts/").content.decode()
        assert 'id="nav-counter"' in html and 'id="nav-accounts"' in html
        assert 'id="nav-backoffice"' not in html and "/admin/" not in html
        assert 'id="nav-approvals"' not in html and 'id="nav-customers"' not in html

    def test_it_shows_a_clerk_the_customers_and_the_back_office_but_not_the_counter(self, world: Any) -> None:
        html = client_for(world.clerk).get("/").content.decode()
        assert 'id="nav-customers"' in html and 'id="nav-backoffice"' in html
        assert 'id="nav-counter"' not in html and 'id="nav-approvals"' not in html

    def test_it_shows_finance_the_approvals(self, world: Any) -> None:
        html = client_for(world.finance).get("/").content.decode()
        assert 'id="nav-approvals"' in html and 'id="nav-counter"' not in html


class LanguageTestCase:
    @pytest.mark.parametrize("url", ["/counter/accounts/", "/counter/customers/"])
    def test_it_offers_the_language_switch_with_csrf_on_every_page(self, world: Any, url: str) -> None:
        html = client_for(world.clerk).get(url).content.decode()
        assert 'action="/i18n/setlang/"' in html and "csrfmiddlewaretoken" in html
        assert 'id="lang-select"' in html

    def test_it_serves_the_pages_in_chinese(self, world: Any) -> None:
        page = client_for(world.clerk, "zh-hans").get("/counter/accounts/")
        assert page.status_code == 200 and page["Content-Language"] == "zh-hans"
        with translation.override("zh-hans"):
            assert translation.gettext("Log out") in page.content.decode()

    def test_it_switches_to_english_and_stays_on_the_page(self, world: Any) -> None:
        c = client_for(world.clerk, "zh-hans")
        r = c.post("/i18n/setlang/", {"language": "en", "next": "/counter/accounts/"})
        assert r.status_code == 302 and r["Location"] == "/counter/accounts/"
        assert c.get("/counter/accounts/")["Content-Language"] == "en"
