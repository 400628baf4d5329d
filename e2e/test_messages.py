"""Operator messages in two browsers: a clerk writes about an account from its page; a cashier at the
same site, who keeps a page open, sees the unread badge change without reloading, opens the message
and follows its link to the account. Nothing breaks the Content-Security-Policy on the way."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests import factories as f

pytestmark = pytest.mark.e2e


def watch_csp(page: Any, seen: list[str]) -> None:
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)


class MessagesTestCase:
    def test_a_message_about_an_account_reaches_a_colleague_live(
        self,
        e2e_db: Any,
        world: Any,
        live_server: Any,
        browser: Any,
        browser_context_args: Any,
        login: Any,
        shot: Any,
        settings: Any,
    ) -> None:
        settings.PREPAY_MESSAGES_POLL_SECONDS = 1  # the badge looks every second instead of every 10
        account = f.account(world.a1)
        clerk_ctx = browser.new_context(**browser_context_args)
        cashier_ctx = browser.new_context(**browser_context_args)
        try:
            writer, reader = clerk_ctx.new_page(), cashier_ctx.new_page()
            seen: list[str] = []
            watch_csp(writer, seen)
            watch_csp(reader, seen)
            login(reader, world.cashier)
            badge = reader.locator("#unread-badge")
            expect(badge).to_have_attribute("data-count", "0")
            navigations: list[str] = []
            reader.on(
                "framenavigated", lambda fr: navigations.append(fr.url) if fr == reader.main_frame else None
            )

            # the clerk writes from the account page to the account's site
            login(writer, world.clerk)
            writer.goto(f"{live_server.url}/counter/accounts/{account.pk}/")
            writer.click("#account-write-message")
            expect(writer.locator("#message-about")).to_contain_text(account.number)
            writer.select_option("#id_to", f"site:{world.a1.site.pk}")
            writer.fill("#id_body", "Meter cover found open — please check on your next visit.")
            shot(writer, "compose")
            writer.click("#message-send")
            expect(writer.locator("#account-messages")).to_contain_text("Meter cover found open")
            shot(writer, "account-panel")

            # the cashier's open page shows it without reloading
            expect(badge).to_have_attribute("data-count", "1", timeout=15_000)
            expect(badge).to_be_visible()
            assert navigations == [], "the page reloaded"
            shot(reader, "badge")

            reader.click("#nav-messages")
            row = reader.locator("[data-testid^=message-row-]").first
            expect(row).to_contain_text("Meter cover found open")
            expect(row).to_contain_text(account.number)
            row.locator("a[id^=message-]").click()
            expect(reader.locator("#message-body")).to_contain_text("Meter cover found open")
            expect(reader.locator("#unread-badge")).to_have_attribute("data-count", "0")
            shot(reader, "detail")
            reader.click("#message-account")
            reader.wait_for_url(re.compile(rf".*/counter/accounts/{account.pk}/$"))
            expect(reader.locator("#account-title")).to_contain_text(account.number)
            expect(reader.locator("#account-messages")).to_contain_text("Meter cover found open")
            assert seen == []
        finally:
            clerk_ctx.close()
            cashier_ctx.close()
